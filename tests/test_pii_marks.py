"""The e-mail and IP recognizers read only the runs of text holding their mark (stages/pii.py
_MATCHES_HOLD): the results must be those of scanning the whole text."""

import json
from pathlib import Path

import pytest
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer

from opencorpus.stages.pii import _recognize

DEMO = Path(__file__).parent / "data" / "demo"
ADDRESSES = [
    "host 10.0.0.1, net 192.168.0.0/16 and 255.255.255.255; not 1.2.3 nor v3.11.2",
    "::1 and :: and fe80::1%eth0 and ::ffff:10.1.2.3 and 2001:db8::8a2e:370:7334 and 1:2:3:4:5:6:7:8",
    "a::b, x[1:2], {'k': 1}, 12:30:45, std::string, os.path.join, 0.5 + 1.25, user@example.org",
    "64:ff9b::192.0.2.33 (NAT64), 2001:db8:0:0:1:0:0:1, [2001:db8::1]:8080, http://[::1]:80/",
]


def demo_texts() -> list[str]:
    import zstandard

    with open(DEMO / "libzstd-lib.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:40]]


@pytest.mark.parametrize("recognizer,entity", [(IpRecognizer(), "IP_ADDRESS"), (EmailRecognizer(), "EMAIL_ADDRESS")])
def test_reading_marked_runs_finds_what_the_whole_text_gives(recognizer, entity):
    for text in ADDRESSES + demo_texts():
        whole = sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, [entity], None))
        marked = sorted((r.start, r.end, r.score) for r in _recognize(recognizer, text, [entity]))
        assert marked == whole, text[:80]
    assert any(recognizer.analyze(text, [entity], None) for text in ADDRESSES)
