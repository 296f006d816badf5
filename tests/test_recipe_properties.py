"""Property tests: the recipe loader answers any text with a Recipe or a RecipeError, never
another exception (issue 12)."""

from __future__ import annotations

import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencorpus.recipe import STAGE_DEFAULTS, RecipeError, parse_recipe

# An empty folder as the recipe's base, so relative source URIs name nothing real.
BASE_DIR = tempfile.mkdtemp(prefix="opencorpus-recipe-props-")
PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["", "1MB", "-1", "2026-11-01", "*", "../x", "s3://b/k"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def mostly(valid: object) -> st.SearchStrategy:
    """Usually a valid value, so examples get past the first check; sometimes anything."""
    return often(st.just(valid))


def often(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """`strategy` nine times in ten, else any value (one_of would merge repeated branches)."""
    return st.integers(0, 9).flatmap(lambda i: strategy if i else values)


source_options = {"kind": st.sampled_from(["text", "code", "web", "bogus"]),
                  "format": st.sampled_from(["jsonl", "jsonl.zst", "text", "html", "warc", "parquet", "csv"]),
                  "text_field": mostly("text"), "id_field": mostly("id"), "created_field": mostly("created"),
                  "url_field": mostly("url"), "base_url": mostly("https://example.org/"),
                  "license": st.one_of(st.sampled_from(["MIT", "GPL-2.0-or-later", "MIT AND (", ""]), values),
                  "license_file": st.one_of(st.sampled_from(["debian/copyright", "../../etc/passwd", "PKG-INFO"]), values),
                  "max_document_bytes": st.one_of(st.sampled_from(["1MB", "0", "1.5GB", "-3KB"]), values),
                  "optional": mostly(True)}
sources = st.fixed_dictionaries({"name": mostly("docs"), "uri": mostly("data/*.jsonl")}, optional=source_options)
stage_options = st.one_of(st.just(False), st.just({}), st.dictionaries(
    st.sampled_from(["policy", "keep", "presets", "threshold", "num_perm", "bands", "rows", "ngram", "survivor",
                     "settings", "entities", "allow_list", "actions", "trees", "bogus"]), values, max_size=3))
stages = st.dictionaries(st.sampled_from([*STAGE_DEFAULTS, "dedupe"]), stage_options, max_size=4)
tokenizers = st.one_of(st.just(False), values, st.fixed_dictionaries(
    {}, optional={"train": st.one_of(st.just({}), values), "eos": values, "bos": values, "path": values,
                  "formats": st.one_of(st.just(["megatron", "datatrove"]), values),
                  "order": st.one_of(st.just({"unit": "window", "window_tokens": 3}), values)}))
outputs = st.one_of(values, st.fixed_dictionaries({}, optional={"uri": values, "shards": values, "shard_bytes": values}))
recipes = st.fixed_dictionaries(
    {"name": mostly("demo"), "date": mostly("2026-11-01"), "sources": often(st.lists(sources, min_size=1, max_size=3))},
    optional={"version": mostly("v1"), "seed": mostly(7), "stages": often(stages),
              "tokenizer": tokenizers, "output": outputs})


def parses_or_refuses(text: str) -> None:
    try:
        parse_recipe(text, path="recipe.yaml", base_dir=BASE_DIR)
    except RecipeError as e:
        assert str(e).startswith("recipe.yaml")


@PROPERTIES
@given(st.text(max_size=300))
def test_any_text_is_a_recipe_or_a_recipe_error(text):
    parses_or_refuses(text)


@PROPERTIES
@given(recipes)
def test_any_recipe_shaped_yaml_is_a_recipe_or_a_recipe_error(recipe):
    parses_or_refuses(yaml.safe_dump(recipe, allow_unicode=True))
