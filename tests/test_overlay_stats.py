import json

import numpy as np
import pytest

from realtime.overlay import HudInfo, draw_hud
from realtime.stats import PipelineStats, RateMeter, Series


def test_series_percentiles_and_bounded_memory():
    s = Series(window=100)
    for v in range(1, 1001):
        s.add(v / 1000.0)          # 1..1000 ms
    d = s.summary()
    assert d["count"] == 1000
    assert s.values_ms().size == 100                        # only the last 100 kept
    assert d["p50_ms"] == pytest.approx(950.5) and d["p99_ms"] == pytest.approx(999.01)
    assert Series().summary()["p50_ms"] is None


def test_rate_meter():
    m = RateMeter(window_s=10)
    for i in range(31):
        m.tick(i / 30.0)
    assert m.rate() == pytest.approx(30.0) and m.mean_rate() == pytest.approx(30.0)


def test_stats_dict_is_json():
    st = PipelineStats()
    st.add_stage("render", 0.004)
    st.latency.add(0.05)
    d = st.to_dict(dropped=3)
    json.dumps(d)
    assert d["dropped"] == 3 and d["stages"]["render"]["p50_ms"] == pytest.approx(4.0)
    assert d["latency_capture_to_output"]["p95_ms"] == pytest.approx(50.0)


@pytest.mark.parametrize("channels", [3, 4])
def test_hud_draws_text_and_similarity_bar(channels):
    img = np.zeros((480, 640, channels), np.uint8)
    info = HudInfo(fps_in=30, fps_out=29.5, stage_ms={"estimate": 31.0, "render": 2.0}, latency_ms=48.0,
                   similarity=0.87, advice=["raise left arm 20°"], status="no person: holding last pose", reps=2)
    out = draw_hud(img, info)
    assert out is img and out[:120, :300].any() and out[-40:, :].any()
    plain = draw_hud(np.zeros((480, 640, 3), np.uint8), HudInfo())
    assert not plain[-40:, :].any()                           # no coach bar without a similarity


def test_degree_sign_is_spelled_out_since_hershey_fonts_are_ascii():
    a = draw_hud(np.zeros((240, 320, 3), np.uint8), HudInfo(similarity=0.9, advice=["raise left arm 20°"]))
    b = draw_hud(np.zeros((240, 320, 3), np.uint8), HudInfo(similarity=0.9, advice=["raise left arm 20 deg"]))
    np.testing.assert_array_equal(a, b)
