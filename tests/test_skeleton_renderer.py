import numpy as np
import pytest

from engines.renderer import RENDERERS, create_renderer
from realtime.errors import InputError
from tests.pipeline_fakes import skeleton_renderer, squat_poses  # noqa: F401


def test_registered_and_draws_the_target_not_the_rest_pose():
    assert "skeleton" in RENDERERS
    r = skeleton_renderer(360, 640)
    a = r.render(r.rest_pose)
    b = r.render(squat_poses()[59].transformed(0.5, (0, 0), width=360, height=640))
    assert a.shape == b.shape == (640, 360, 3) and a.dtype == np.uint8
    assert (a != 40).any() and (a != b).any()


def test_alpha_marks_the_drawn_pixels():
    from engines.skeleton import SkeletonRenderer

    pose = squat_poses()[0]
    r = SkeletonRenderer(alpha=True, background="reference")
    bg = np.full((1280, 720, 3), 77, np.uint8)
    r.prepare(bg, reference_pose=pose)
    out = r.render(pose)
    assert out.shape == (1280, 720, 4)
    drawn = out[..., 3] > 0
    assert 0 < drawn.mean() < 0.2 and (out[..., :3][~drawn] == 77).all()


def test_prepare_estimates_the_reference_pose(media_dir):
    from realtime.media import read_image

    r = create_renderer("skeleton", background="dim")
    img = read_image(media_dir / "pose.jpg")
    r.prepare(img)
    assert (r.rest_pose.width, r.rest_pose.height) == (1000, 667)
    assert r.render(r.rest_pose).max() <= 255
    with pytest.raises(InputError, match="no person"):
        create_renderer("skeleton").prepare(np.zeros((200, 200, 3), np.uint8))
    with pytest.raises(InputError, match="background"):
        create_renderer("skeleton", background="pink")
