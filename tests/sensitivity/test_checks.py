"""Bad input to the API: one-line ValueErrors that name the bad value."""

import pytest
import torch
from torch import nn

from empirical.sensitivity import measure


class Flat(nn.Module):
    """Returns one number per sample, not logits (N, C)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x).squeeze(1)


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    g = torch.Generator().manual_seed(0)
    return model, torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)


@pytest.mark.parametrize(
    "options, named",
    [
        ({"noise_model": "gaussian"}, "'gaussian'"),
        ({"layers": ["2.wieght"]}, "'2.wieght'"),
        ({"layers": ["2.bias"]}, "'2.bias'"),  # a parameter, but not a noise target of scope "weights"
        ({"levels": (0.01, 0.0)}, "0.0"),
        ({"levels": (-0.1,)}, "-0.1"),
        ({"levels": (float("nan"),)}, "nan"),
        ({"levels": (float("inf"),)}, "inf"),
        ({"levels": ()}, "()"),
        ({"samples": 7}, "7"),
        ({"layer_samples": 3}, "3"),
        ({"scope": "biases"}, "'biases'"),
    ],
)
def test_bad_argument_names_the_value(setup, options, named):
    with pytest.raises(ValueError) as e:
        measure(*setup, **options)
    message = str(e.value)
    assert named in message and "\n" not in message


def test_a_model_without_logits_of_shape_n_c(setup):
    _, x, y = setup
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\).*Got \(2,\)"):
        measure(Flat(), x, y)
    with pytest.raises(ValueError, match=r"C >= 3.*Got \(2, 2\)"):  # fewer logits than classes in y
        measure(nn.Linear(4, 2), x, y)


def test_an_unsupported_kinked_module_suggests_skipping_the_kink_term(setup):
    _, x, y = setup
    model = nn.Sequential(nn.Linear(4, 6), nn.Unflatten(1, (1, 6)), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(3, 3))
    with pytest.raises(ValueError, match="kinks=False"):
        measure(model, x, y, samples=2)
    assert len(measure(model, x, y, samples=2, kinks=False, rel_se=0.5).rows()) == 6
