import keras
import pytest

from vaeviewer.errors import VaeViewerError
from vaeviewer.models import precision


@pytest.mark.parametrize(
    "name, policy",
    [("float32", "float32"), ("bfloat16", "mixed_bfloat16"), ("float16", "mixed_float16")],
)
def test_explicit_names(name, policy):
    assert precision.resolve_precision(name) == policy


def test_unknown_name_is_a_user_error():
    with pytest.raises(VaeViewerError, match="precision"):
        precision.resolve_precision("int8")


@pytest.mark.parametrize(
    "gpu, flags, expected",
    [
        (True, {"amx_bf16"}, "mixed_float16"),
        (False, {"amx_bf16", "avx512f"}, "mixed_bfloat16"),
        (False, {"avx512_bf16"}, "mixed_bfloat16"),
        (False, {"avx512f", "avx2"}, "float32"),
        (False, set(), "float32"),
    ],
)
def test_auto(monkeypatch, gpu, flags, expected):
    monkeypatch.setattr(precision, "_gpus", lambda: ("GPU:0",) if gpu else ())
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    assert precision.resolve_precision("auto") == expected


def test_auto_on_this_machine():
    if precision.gpu_visible():
        assert precision.resolve_precision("auto") == "mixed_float16"
    elif precision.cpu_has_native_bf16():
        assert precision.resolve_precision("auto") == "mixed_bfloat16"
    else:
        assert precision.resolve_precision("auto") == "float32"


def test_cpu_flags_parsing(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse2 amx_bf16 avx512f\n")
    flags = precision.cpu_flags(str(info))
    assert {"amx_bf16", "avx512f"} <= flags
    assert precision.cpu_has_native_bf16(flags)
    assert precision.cpu_model_name(str(info)) == "Test CPU 9000"
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_apply_precision_sets_and_scope_restores():
    assert precision.apply_precision("bfloat16") == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    with precision.precision_scope("float32") as policy:
        assert policy == "float32"
        assert keras.mixed_precision.global_policy().name == "float32"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"


def test_device_description():
    text = precision.device_description()
    assert text.startswith(("CPU", "GPU"))
    if not precision.gpu_visible() and "amx_bf16" in precision.cpu_flags():
        assert text.startswith("CPU (AMX bf16)")
