"""The polite crawler: fetch pages within a scope and archive them as WARC (`opencorpus crawl`)."""

from opencorpus.sources.crawl.crawler import CrawlConfig, CrawlReport, crawl

__all__ = ["CrawlConfig", "CrawlReport", "crawl"]
