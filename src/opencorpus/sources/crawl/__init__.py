"""The polite crawler: fetch pages within a scope and archive them as WARC (`opencorpus crawl`)."""

# Every URL in a crawl (seeds, links, redirects, logs, WARC headers) is in normalize_url's form: ASCII.
from opencorpus.document import normalize_url
from opencorpus.sources.crawl.crawler import CrawlConfig, CrawlReport, crawl

__all__ = ["CrawlConfig", "CrawlReport", "crawl", "normalize_url"]
