"""The polite crawler: fetch pages within a scope and archive them as WARC (`opencorpus crawl`)."""

from opencorpus.sources.crawl.crawler import CrawlConfig, CrawlReport, crawl
from opencorpus.sources.crawl.urls import canonical_url

__all__ = ["CrawlConfig", "CrawlReport", "canonical_url", "crawl"]
