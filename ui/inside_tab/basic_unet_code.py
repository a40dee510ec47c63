"""The BasicUNet code panel: the tutorial's model and the walk with forward hooks, as runnable Python.

``walk_code`` fills the template with the input the tab used (random, MNIST or an upload), its shape
(B, C, H, W) and what the walk gave (output shape or error, parameter count).
"""

from __future__ import annotations

from diffusion_core.tracing import Trace, format_shape

WALK_CODE = """import torch
from torch import nn

class BasicUNet(nn.Module):  # the tutorial's model, without the prints
    def __init__(self, in_channels=1, out_channels=1):
        super().__init__()
        self.down_layers = nn.ModuleList([nn.Conv2d(in_channels, 32, 5, padding=2),
                                          nn.Conv2d(32, 64, 5, padding=2), nn.Conv2d(64, 64, 5, padding=2)])
        self.up_layers = nn.ModuleList([nn.Conv2d(64, 64, 5, padding=2),
                                        nn.Conv2d(64, 32, 5, padding=2), nn.Conv2d(32, out_channels, 5, padding=2)])
        self.act = nn.SiLU()
        self.downscale = nn.MaxPool2d(2)
        self.upscale = nn.Upsample(scale_factor=2)

    def forward(self, x):
        h = []
        for i, l in enumerate(self.down_layers):
            x = self.act(l(x))
            if i < 2:
                h.append(x)           # store for a skip connection
                x = self.downscale(x)
        for i, l in enumerate(self.up_layers):
            if i > 0:
                x = self.upscale(x)
                x = x + h.pop()       # pop() takes the LAST stored map: last in, first out
            x = self.act(l(x))
        return x

net = BasicUNet({channels}, {channels})
{data}

# Print every layer's shapes with forward hooks: no prints inside the model
def show(module, inputs, output):
    print(f"{{module.__class__.__name__:10s}} {{tuple(inputs[0].shape)}} -> {{tuple(output.shape)}}")

hooks = [m.register_forward_hook(show) for m in net.modules() if not list(m.children())]
with torch.no_grad():
    y = net(x)  # {outcome}
for hook in hooks:
    hook.remove()
print(sum(p.numel() for p in net.parameters()))  # {params}
"""

DATA_RANDOM = "x = torch.rand({b}, {c}, {h}, {w}, generator=torch.Generator().manual_seed({seed}))"
DATA_MNIST = """import torchvision
from torchvision import transforms
dataset = torchvision.datasets.MNIST("data", train=False, download=True, transform=transforms.ToTensor())
index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed({seed}))[:{b}]
x = torch.stack([dataset[i][0] for i in index])  # ({b}, 1, 28, 28) real digits{resize}"""
DATA_UPLOAD = """from PIL import Image
from torchvision import transforms
img = Image.open("my_image.png").convert("L").resize(({w}, {h}))
x = transforms.ToTensor()(img).unsqueeze(0).repeat({b}, {c}, 1, 1)  # ({b}, {c}, {h}, {w})"""


def walk_code(source: str, seed: int, batch: int, channels: int, height: int, width: int, trace: Trace) -> str:
    """Python that reproduces the walk of ``trace``: the model, the (batch, channels, height, width) input, the hooks.

    ``source`` is "random", "mnist" or "upload"; ``seed`` picks the random tensor or the MNIST digits.
    """
    if source == "random":
        data = DATA_RANDOM.format(b=batch, c=channels, h=height, w=width, seed=seed)
    elif source == "mnist":
        resize = ""
        if (height, width) != (28, 28):
            resize += f"\nx = nn.functional.interpolate(x, size=({height}, {width}), mode='bilinear')"
        if channels == 3:
            resize += "\nx = x.repeat(1, 3, 1, 1)"
        data = DATA_MNIST.format(b=batch, seed=seed, resize=resize)
    else:
        data = DATA_UPLOAD.format(b=batch, c=channels, h=height, w=width)
    outcome = f"-> {format_shape(trace.output_shape)}" if trace.ok else f"RuntimeError: {trace.failure.message}"
    return WALK_CODE.format(channels=channels, data=data, outcome=outcome, params=trace.total_parameters)
