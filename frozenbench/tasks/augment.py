"""Batched, seeded image augmentation on the training device.

The paper's ResNet recipe (flip, rotation 15 deg, translate 0.1, perspective 0.2) as ONE
projective warp per image, sampled from an explicit ``torch.Generator`` and applied with
``grid_sample``: each image gets its own random transform (a torchvision transform called on a
batch would share one), it runs on the GPU without DataLoader workers, and it is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F


def _homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Per-batch 3x3 matrices mapping the 4 points ``src`` (B, 4, 2) onto ``dst``."""
    b = src.shape[0]
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], dim=-1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], dim=-1)
    a = torch.cat([rows_u, rows_v], dim=1)  # (B, 8, 8)
    rhs = torch.cat([u, v], dim=1).unsqueeze(-1)  # (B, 8, 1)
    h = torch.linalg.solve(a, rhs).squeeze(-1)
    return torch.cat([h, torch.ones(b, 1, dtype=h.dtype)], dim=1).view(b, 3, 3)


def sample_warps(n: int, spec: Mapping[str, float], generator: torch.Generator) -> torch.Tensor:
    """``n`` random 3x3 maps from output to input coordinates (normalised to [-1, 1]).

    spec keys: ``flip`` (probability), ``rotation`` (max degrees), ``translate`` (max fraction
    of the image size), ``perspective`` (torchvision's distortion scale, applied with p=0.5).
    """

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=generator, dtype=torch.float64)

    flip = torch.where(uniform(0, 1, n) < spec.get("flip", 0.0), -1.0, 1.0)
    angle = uniform(-1, 1, n) * math.radians(spec.get("rotation", 0.0))
    shift = uniform(-1, 1, n, 2) * 2.0 * spec.get("translate", 0.0)  # [-1, 1] spans 2 units
    cos, sin = torch.cos(angle), torch.sin(angle)
    affine = torch.zeros(n, 3, 3, dtype=torch.float64)
    affine[:, 0, 0], affine[:, 0, 1], affine[:, 0, 2] = cos * flip, -sin, shift[:, 0]
    affine[:, 1, 0], affine[:, 1, 1], affine[:, 1, 2] = sin * flip, cos, shift[:, 1]
    affine[:, 2, 2] = 1.0
    # Perspective: move each corner inwards by up to `distortion` of the half-size, like
    # torchvision.transforms.RandomPerspective, for half of the images.
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]],
                           dtype=torch.float64).expand(n, 4, 2)
    inward = -torch.sign(corners) * uniform(0, 1, n, 4, 2) * spec.get("perspective", 0.0)
    apply = (uniform(0, 1, n) < 0.5).to(torch.float64).view(n, 1, 1)
    persp = _homography(corners, corners + inward * apply)
    return affine @ persp


def augment(x: torch.Tensor, spec: Mapping[str, float], generator: torch.Generator) -> torch.Tensor:
    """Warp each image of ``x`` (B, C, H, W) by its own random transform; zero padding
    (the normalised mean)."""
    if not spec:
        return x
    b, _, h, w = x.shape
    warps = sample_warps(b, spec, generator).to(device=x.device, dtype=x.dtype)
    ys = (torch.arange(h, device=x.device, dtype=x.dtype) * 2 + 1) / h - 1  # pixel centres
    xs = (torch.arange(w, device=x.device, dtype=x.dtype) * 2 + 1) / w - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).view(1, h * w, 3)
    src = points @ warps.transpose(1, 2)  # (B, H*W, 3)
    grid = (src[..., :2] / src[..., 2:].clamp_min(1e-6)).view(b, h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
