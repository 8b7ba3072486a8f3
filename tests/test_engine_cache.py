"""Engine cache: names that carry every dependency, compatibility reasons, lookups, ONNX facts."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.backends.engine_cache import (EngineCache, EngineKey, GpuInfo, OnnxTensor, default_cache_dir, mismatches,
                                  model_precision, onnx_digest, onnx_inputs, parse_engine_name, parse_nvidia_smi,
                                  read_onnx, slug)
from onnx_models import write_renderer_like_onnx
from realtime.errors import InputError

KEY = EngineKey(model="patn_small", onnx_hash="0123456789ab", precision="fp16",
                gpu_name="NVIDIA GeForce RTX 3090", compute_capability=(8, 6), trt_version="10.3.0")

names = st.text(min_size=1, max_size=40)
keys = st.builds(
    EngineKey, model=names, onnx_hash=st.text("0123456789abcdef", min_size=12, max_size=12),
    precision=st.sampled_from(["fp32", "fp16"]), gpu_name=names,
    compute_capability=st.tuples(st.integers(0, 20), st.integers(0, 9)),
    trt_version=st.from_regex(r"1[01]\.[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{1,2})?", fullmatch=True))


def test_file_name_carries_every_field():
    name = KEY.file_name()
    assert name == "patn-small--0123456789ab--fp16--nvidia-geforce-rtx-3090--cc8.6--trt10.3.0.engine"


@given(st.text(max_size=60))
def test_slug_is_file_safe_and_never_contains_the_separator(text):
    s = slug(text)
    assert s and "--" not in s and not s.startswith("-") and not s.endswith("-")
    assert all(c.isascii() and (c.isalnum() or c in ".-") for c in s)
    assert slug(s) == s


@settings(max_examples=200)
@given(keys)
def test_name_round_trips_to_the_normalized_key(key):
    parsed = parse_engine_name(key.file_name())
    assert parsed == key.normalized()
    assert mismatches(parsed, key) == []


@pytest.mark.parametrize("field,value,word", [
    ("gpu_name", "NVIDIA A100-SXM4-80GB", "GPU"), ("compute_capability", (8, 0), "compute capability"),
    ("trt_version", "11.0.0", "TensorRT"), ("onnx_hash", "ffffffffffff", "ONNX"),
    ("precision", "fp32", "precision"), ("model", "other", "model")])
def test_each_changed_field_gives_one_reason_naming_it(field, value, word):
    other = EngineKey(**{**KEY.__dict__, field: value})
    reasons = mismatches(other, KEY)
    assert len(reasons) == 1 and reasons[0].startswith(word)
    assert "built for" in reasons[0] and "here" in reasons[0]


def test_compute_capability_10_is_not_confused_with_1_0():
    a = EngineKey(**{**KEY.__dict__, "compute_capability": (10, 0)})
    b = EngineKey(**{**KEY.__dict__, "compute_capability": (1, 0)})
    assert a.file_name() != b.file_name()
    assert parse_engine_name(a.file_name()).compute_capability == (10, 0)


def test_bad_keys_are_refused():
    with pytest.raises(ValueError):
        EngineKey(**{**KEY.__dict__, "precision": "int8"})
    with pytest.raises(ValueError):
        EngineKey(**{**KEY.__dict__, "onnx_hash": "xyz"})


def test_foreign_file_names_are_not_parsed():
    assert parse_engine_name("model.engine") is None
    assert parse_engine_name(KEY.file_name().replace(".engine", ".plan")) is None


def test_lookup_finds_exact_and_explains_stale(tmp_path):
    cache = EngineCache(tmp_path)
    assert cache.lookup(KEY).path is None
    assert "no engine" in cache.lookup(KEY).rebuild_message(KEY)
    other_gpu = EngineKey(**{**KEY.__dict__, "gpu_name": "Tesla T4", "compute_capability": (7, 5)})
    old_trt = EngineKey(**{**KEY.__dict__, "trt_version": "10.0.1"})
    unrelated = EngineKey(**{**KEY.__dict__, "model": "another"})
    for k in (other_gpu, old_trt, unrelated):
        cache.write(k, b"engine-bytes", {"onnx_path": "/x.onnx"})
    look = cache.lookup(KEY)
    assert look.path is None
    stale = {p.name: reasons for p, reasons in look.stale}
    assert set(stale) == {other_gpu.file_name(), old_trt.file_name()}  # the other model is not ours
    assert any("Tesla T4" in r for r in stale[other_gpu.file_name()])
    assert any(r.startswith("compute capability: built for 7.5, here 8.6") for r in stale[other_gpu.file_name()])
    assert stale[old_trt.file_name()] == ["TensorRT: built for 10.0.1, here 10.3.0"]
    msg = look.rebuild_message(KEY)
    assert msg.startswith("rebuilding") and "Tesla T4" in msg and "10.0.1" in msg
    path = cache.write(KEY, b"\x01\x02", {"onnx_path": "/m.onnx"})
    assert cache.lookup(KEY).path == path and path.read_bytes() == b"\x01\x02"


def test_sidecar_keeps_exact_names(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.write(KEY, b"x", {"onnx_path": "/models/patn.onnx"})
    assert cache.read_key(path) == KEY  # unslugged GPU name back from the JSON
    assert json.loads(cache.meta_path(path).read_text())["key"]["gpu_name"] == "NVIDIA GeForce RTX 3090"
    assert str(cache.recorded_onnx(path)) == "/models/patn.onnx"
    cache.meta_path(path).unlink()
    assert cache.read_key(path) == KEY.normalized()  # falls back to the file name
    assert cache.recorded_onnx(path) is None
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_empty_engine_file_is_not_a_match(tmp_path):
    cache = EngineCache(tmp_path)
    cache.path_for(KEY).write_bytes(b"")
    assert cache.lookup(KEY).path is None


def test_cache_dir_that_is_a_file_is_an_input_error(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(InputError, match="--cache-dir"):
        EngineCache(f)


def test_timing_cache_is_per_gpu_and_tensorrt(tmp_path):
    cache = EngineCache(tmp_path)
    a = cache.timing_cache_path(GpuInfo("NVIDIA H100", (9, 0)), "10.3.0")
    b = cache.timing_cache_path(GpuInfo("NVIDIA H100", (9, 0)), "11.0.0")
    c = cache.timing_cache_path(GpuInfo("NVIDIA L4", (8, 9)), "10.3.0")
    assert len({a, b, c}) == 3 and a.parent == tmp_path


def test_default_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("REPOSE_CACHE", raising=False)
    monkeypatch.setenv("REPOSE_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "engines"   # the engines/ folder of the one model cache
    monkeypatch.delenv("REPOSE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "repose" / "engines"


def test_onnx_digest_follows_content(tmp_path):
    a = write_renderer_like_onnx(tmp_path / "a.onnx", seed=0)
    b = write_renderer_like_onnx(tmp_path / "b.onnx", seed=0)
    c = write_renderer_like_onnx(tmp_path / "c.onnx", seed=1)
    assert onnx_digest(a) == onnx_digest(b) != onnx_digest(c)
    assert len(onnx_digest(a)) == 12
    with pytest.raises(InputError, match="repose export"):
        onnx_digest(tmp_path / "missing.onnx")


def test_onnx_inputs_and_precision(tmp_path):
    pytest.importorskip("onnx", reason="reading ONNX needs the onnx package (train extra)")
    fp32 = onnx_inputs(write_renderer_like_onnx(tmp_path / "m32.onnx", dynamic_batch=True))
    assert [t.name for t in fp32] == ["cond_image", "cond_pose", "target_pose"]
    assert fp32[0].shape == (-1, 3, 32, 24) and fp32[0].dtype == "FLOAT"
    assert model_precision(fp32) == "fp32"
    fp16 = onnx_inputs(write_renderer_like_onnx(tmp_path / "m16.onnx", fp16=True))
    assert model_precision(fp16) == "fp16" and fp16[1].shape == (1, 18, 32, 24)
    # `repose export --fp16` style: float32 inputs and output, FP16 weights and compute inside
    exported = read_onnx(write_renderer_like_onnx(tmp_path / "e16.onnx", fp16=True, float32_io=True))
    assert [t.dtype for t in exported.inputs] == ["FLOAT"] * 3
    assert exported.weights == {"FLOAT16": 8 * 39 * 9 + 8 + 3 * 8 * 9 + 3}
    assert exported.precision == "fp16"
    assert read_onnx(tmp_path / "m32.onnx").precision == "fp32"
    assert model_precision([OnnxTensor("x", (1,), "FLOAT")], {"FLOAT": 10, "FLOAT16": 30}) == "fp16"
    assert model_precision([OnnxTensor("x", (1,), "FLOAT")], {"FLOAT": 30, "FLOAT16": 10}) == "fp32"
    assert model_precision([OnnxTensor("ids", (1,), "INT64")]) == "fp32"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(InputError, match="not a readable ONNX"):
        onnx_inputs(bad)


@pytest.mark.parametrize("text,expected", [
    ("NVIDIA GeForce RTX 4090, 8.9\n", GpuInfo("NVIDIA GeForce RTX 4090", (8, 9))),
    ("NVIDIA H100 80GB HBM3, 9.0", GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))),
    ("NVIDIA B200, 10.0\nNVIDIA B200, 10.0\n", GpuInfo("NVIDIA B200", (10, 0))),
    ("Tesla K80, [N/A]", None), ("", None)])
def test_parse_nvidia_smi(text, expected):
    assert parse_nvidia_smi(text) == expected
