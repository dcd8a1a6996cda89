"""RunConfig validation and its JSON round trip."""

import pytest

from vaeviewer.config import RunConfig, parse_frame_size
from vaeviewer.errors import VaeViewerError


def test_json_round_trip_is_identity():
    cfg = RunConfig(demo=True, variant="convlstm", window=8, stride=8, stateful=True, frame_size=(61, 77), filters=(8, 16, 32))
    again = RunConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.validate() is again


@pytest.mark.parametrize(
    "changes, setting",
    [
        (dict(variant="lstm"), "variant"),
        (dict(window=0), "window"),
        (dict(window=-3), "window"),
        (dict(stride=0), "stride"),
        (dict(variant="conv3d", window=4, stride=5), "stride"),
        (dict(stateful=True), "stateful"),
        (dict(variant="convlstm", stateful=True, window=10, stride=1), "stride"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(beta=float("nan")), "beta"),
        (dict(dropout=1.0), "dropout"),
        (dict(dropout=-0.1), "dropout"),
        (dict(dropout="0.2"), "dropout"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(valid_fraction=0.95), "valid_fraction"),
        (dict(precision="int8"), "precision"),
        (dict(filters=()), "filters"),
        (dict(demo=False, paths=[]), "paths"),
    ],
)
def test_bad_settings_name_the_setting(changes, setting):
    cfg = RunConfig(demo=True).replace(**changes)
    with pytest.raises(VaeViewerError, match=setting):
        cfg.validate()


def test_config_file_errors_are_user_errors(tmp_path):
    f = tmp_path / "c.json"
    f.write_text("{not json")
    with pytest.raises(VaeViewerError, match="not valid JSON"):
        RunConfig.load(f)
    f.write_text('{"windw": 3}')
    with pytest.raises(VaeViewerError, match="windw"):
        RunConfig.load(f)
    with pytest.raises(VaeViewerError, match="cannot read"):
        RunConfig.load(tmp_path / "missing.json")


def test_frame_size_parsing():
    assert parse_frame_size("64x80") == (64, 80)
    assert parse_frame_size(None) is None
    for bad in ("64", "ax80", "2x2", "64x80x3"):
        with pytest.raises(VaeViewerError, match="frame size"):
            parse_frame_size(bad)


def test_unknown_settings_are_all_named_with_the_setting_meant():
    from vaeviewer.errors import VaeViewerError

    with pytest.raises(VaeViewerError) as err:
        RunConfig.from_dict({"lr": 0.1, "windw": 4, "zzz": 1}, "s.json")
    text = str(err.value)
    assert "'lr' (did you mean learning_rate?)" in text and "'windw' (did you mean window?)" in text
    assert "'zzz'" in text and "max_scatter_points" not in text   # no list of every known key
