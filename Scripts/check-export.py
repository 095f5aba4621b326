#!/usr/bin/env python3
"""The PyTorch side of Scripts/check-export.sh; run that script, which checks the
prerequisites and builds diswot first.

For each family diswot builds (the pretrained ResNet-20 teacher with option-A shortcuts;
and, trained here by `diswot train` for one short epoch so that their running statistics
and num_batches_tracked are real, a resnet-cifar student with option-B shortcuts, a
NAS-Bench-201 network and a MobileNetV2 network; and RepDistiller's resnet8x4, wrn_16_2
and vgg8, trained by name, whose modules exported by name also reproduce the PyTorch
parity fixtures; and torchvision's resnet18 and resnet50 at 32x32, trained by name, whose
weights also load strictly into torchvision's own `resnet18(num_classes=10)` /
`resnet50(num_classes=10)` and give the same logits and top-1 there, when torchvision is
importable):

1. `diswot export` writes the student's module; the weights load into `Student()` with
   `strict=True`, every num_batches_tracked an int64 scalar;
2. PyTorch's logits on CIFAR-10 test images, normalised with the module's MEAN and STD,
   are compared with `diswot eval --logits` on the same images (and, for the teacher, the
   top-1 count with diswot's over all 846 images);
3. the module exported from the architecture alone (`--space` and the key of the trained
   student) takes the same weights strictly;
4. back: the module runs three training-mode batches in PyTorch (running statistics and
   counters move), its `state_dict()` is saved with `safetensors.torch.save_file`, and
   `diswot eval` of that file must give PyTorch's logits.

Then the golden modules of the Swift tests (Tests/DiswotModelsTests/Fixtures/export) load
the PyTorch-written fixtures strictly and reproduce their logits.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import safetensors
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A MobileNetV2 space for 32x32 CIFAR-10 images (the shipped one is for 64x64 inputs).
MOBILENET_SPACE = {
    "format": "diswot.search-space.v1",
    "name": "check-export-mobilenetv2",
    "description": "Small MobileNetV2 networks for 32x32 images, for Scripts/check-export.sh.",
    "family": "mobilenetv2",
    "input": {"channels": 3, "height": 32, "width": 32},
    "classes": 10,
    "settings": {"stem_width": 16, "stem_stride": 1, "last_width": 128, "widths": [16, 24, 32], "strides": [1, 2, 2]},
    "choices": {
        "depths": [[1], [1, 2], [1, 2]],
        "expansions": [[1], [3, 6], [3, 6], [3, 6], [3, 6]],
        "kernels": [[3], [3, 5, 7], [3, 5, 7], [3, 5, 7], [3, 5, 7]],
    },
}

# (row label, space, architecture JSON) of the students trained here.
TRAINED = [
    ("resnet-cifar, option B, fc", "resnet-cifar", {"depths": [2, 1, 1], "widths": [16, 32, 64]}),
    ("nas-bench-201", "nas-bench-201",
     {"cell": "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"}),
    ("mobilenetv2 (32x32 space)", "check-export-mobilenetv2",
     {"depths": [1, 2, 1], "expansions": [1, 6, 3, 3, 3], "kernels": [3, 5, 7, 3, 3]}),
]

# RepDistiller's zoo, one member per family (Tests/DiswotModelsTests/Fixtures/repdistiller).
ZOO = ["resnet8x4", "wrn_16_2", "vgg8"]

# torchvision's ResNets (BasicBlock and Bottleneck), at CIFAR-10's 32x32.
TORCHVISION = ["resnet18", "resnet50"]

IMAGES = 256  # test images compared for the trained students (all 846 for the teacher)


class CheckFailed(Exception):
    pass


def diswot(args, *arguments):
    """Runs diswot, returning its standard output; a failure ends the check."""
    env = dict(os.environ, DISWOT_SEARCH_SPACES=args.work)
    result = subprocess.run([args.diswot, *arguments, "--quiet"], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise CheckFailed(f"diswot {' '.join(arguments)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3].replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cifar_test(shared):
    records = np.fromfile(os.path.join(shared, "datasets", "cifar10-subset", "test_batch.bin"), dtype=np.uint8)
    records = records.reshape(-1, 3073)
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255)
    return images, torch.from_numpy(records[:, 0].astype(np.int64))


def normalised(module, images):
    if module.MEAN is None:
        raise CheckFailed("the exported module records no normalisation")
    mean = torch.tensor(module.MEAN).view(1, -1, 1, 1)
    std = torch.tensor(module.STD).view(1, -1, 1, 1)
    return (images - mean) / std


def logits_of(model, inputs):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(batch) for batch in inputs.split(128)])


def strict_student(module, weights):
    """Student() with `weights` loaded strictly, and the set of its counters' values."""
    state = load_file(weights)
    counters = {name: t for name, t in state.items() if name.endswith("num_batches_tracked")}
    if not counters or any(t.dtype != torch.int64 or t.shape != () for t in counters.values()):
        raise CheckFailed(f"{weights}: num_batches_tracked missing or not int64 scalars")
    model = module.Student()
    model.load_state_dict(state, strict=True)
    return model, sorted({int(t) for t in counters.values()})


def compare(ours, theirs, what):
    """Max |difference| of two logit tensors; fails beyond float tolerance or on any
    top-1 disagreement."""
    difference = (ours - theirs).abs().max().item()
    scale = max(1.0, theirs.abs().max().item())
    disagreements = int((ours.argmax(1) != theirs.argmax(1)).sum())
    if difference > 1e-4 * scale or disagreements:
        raise CheckFailed(f"{what}: max |Δlogit| {difference:.3g} (scale {scale:.3g}), {disagreements} top-1 disagreements")
    return difference


def round_trip(args, label, module, model, metadata, images, limit):
    """PyTorch -> diswot: three training-mode batches, save_file(state_dict), diswot eval."""
    model.train()
    with torch.no_grad():
        for batch in normalised(module, images[-96:]).split(32):
            model(batch)
    theirs = logits_of(model, normalised(module, images[:limit]))
    path = os.path.join(args.work, f"{label}-from-pytorch.safetensors")
    save_file(model.state_dict(), path, metadata=metadata)
    logits = os.path.join(args.work, f"{label}-from-pytorch-logits.safetensors")
    diswot(args, "eval", "--weights", path, "--data", args.data, "--limit", str(limit), "--logits", logits)
    return compare(load_file(logits)["logits"], theirs, f"{label}: PyTorch-saved state dict in diswot")


def check_teacher(args, images, labels):
    teacher = os.path.join(args.shared, "teachers", "cifar10-resnet20.safetensors")
    module_path, weights = os.path.join(args.work, "resnet20.py"), os.path.join(args.work, "resnet20.safetensors")
    diswot(args, "export", "--weights", teacher, "--out", module_path, "--weights-out", weights)
    logits = os.path.join(args.work, "resnet20-logits.safetensors")
    report = json.loads(diswot(args, "eval", "--weights", teacher, "--data", args.data, "--logits", logits, "--json"))
    module = load_module(module_path)
    model, counters = strict_student(module, weights)
    reference = load_file(logits)
    if not torch.equal(reference["labels"], labels):
        raise CheckFailed("diswot's labels are not the test batch's")
    ours = logits_of(model, normalised(module, images))
    difference = compare(ours, reference["logits"], "resnet20 teacher")
    correct = int((ours.argmax(1) == labels).sum())
    if correct != report["correct"] or correct != 776:
        raise CheckFailed(f"resnet20 teacher: PyTorch {correct}/846, diswot {report['correct']}/846, expected 776")
    back = round_trip(args, "resnet20", module, model, safe_open(weights, "pt").metadata(), images, IMAGES)
    return ["resnet20 teacher, option A", "shared file", counters, len(labels), difference,
            f"{report['correct']}/{len(labels)}", f"{correct}/{len(labels)}", back]


def check_trained(args, label, space, arch, images, labels):
    slug = space.replace("check-export-", "")
    run = os.path.join(args.work, f"{slug}-run")
    diswot(args, "train", "--space", space, "--arch", json.dumps(arch), "--data", args.data, "--epochs", "1",
           "--train-limit", "256", "--test-limit", "64", "--batch", "32", "--schedule", "cosine", "--seed", "1",
           "--out", run)
    weights = os.path.join(run, "student.safetensors")
    module_path = os.path.join(args.work, f"{slug}.py")
    diswot(args, "export", "--weights", weights, "--out", module_path)
    logits = os.path.join(args.work, f"{slug}-logits.safetensors")
    report = json.loads(diswot(args, "eval", "--weights", weights, "--data", args.data, "--limit", str(IMAGES),
                               "--logits", logits, "--json"))
    module = load_module(module_path)
    model, counters = strict_student(module, weights)
    if counters != [256 // 32]:
        raise CheckFailed(f"{label}: num_batches_tracked {counters}, expected the 8 training steps")
    ours = logits_of(model, normalised(module, images[:IMAGES]))
    difference = compare(ours, load_file(logits)["logits"], label)
    correct = int((ours.argmax(1) == labels[:IMAGES]).sum())

    metadata = safe_open(weights, "pt").metadata()
    from_key = os.path.join(args.work, f"{slug}-from-key.py")
    diswot(args, "export", "--space", space, "--arch", metadata["key"], "--out", from_key)
    twin, _ = strict_student(load_module(from_key), weights)
    compare(logits_of(twin, normalised(module, images[:IMAGES])), ours, f"{label}: module exported from the key")

    back = round_trip(args, slug, module, model, metadata, images, IMAGES)
    return [label, "diswot train, 8 steps", counters, IMAGES, difference,
            f"{report['correct']}/{IMAGES}", f"{correct}/{IMAGES}", back]


def check_zoo(args, name, images, labels):
    """RepDistiller's zoo: `diswot export --model NAME` builds, in PyTorch, the network of
    the parity fixture (its batch norms as PyTorch saved them, every other tensor from the
    fixture generator's formula) and reproduces PyTorch's logits; then a student trained
    by `diswot train --student NAME` (8 steps) exports, loads strictly and gives diswot's
    logits and top-1 on real CIFAR-10 images."""
    fixtures = os.path.join(ROOT, "Tests", "DiswotModelsTests", "Fixtures", "repdistiller")
    generator = load_module(os.path.join(fixtures, "make_repdistiller.py"))
    module_path = os.path.join(args.work, f"{name}-fresh.py")
    diswot(args, "export", "--model", name, "--classes", "10", "--out", module_path)
    model = load_module(module_path).Student()
    batch_norms = load_file(os.path.join(fixtures, f"{name}-bn.safetensors"))
    state = {k: batch_norms[k] if k in batch_norms else generator.generated(k, tuple(v.shape))
             for k, v in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    io = load_file(os.path.join(fixtures, f"{name}-io.safetensors"))
    fixture_difference = compare(logits_of(model, io["input"]), io["logits"], f"{name}: PyTorch fixture")

    row = check_named(args, name, images, labels)
    row[0] = f"{name} (fixture max |Δlogit| {fixture_difference:.2g})"
    return row


def check_named(args, name, images, labels, reference=None):
    """A student trained by `diswot train --student NAME` (8 steps) exports, loads strictly
    and gives diswot's logits and top-1 on real CIFAR-10 images; `reference`, when given,
    builds the upstream project's own module (torchvision's `resnet18(num_classes=10)`),
    which must load the same weights strictly and give the same logits and top-1 too."""
    run = os.path.join(args.work, f"{name}-run")
    diswot(args, "train", "--student", name, "--data", args.data, "--epochs", "1", "--train-limit", "256",
           "--test-limit", "64", "--batch", "32", "--schedule", "cosine", "--seed", "1", "--out", run)
    weights = os.path.join(run, "student.safetensors")
    module_path = os.path.join(args.work, f"{name}.py")
    diswot(args, "export", "--weights", weights, "--out", module_path)
    logits = os.path.join(args.work, f"{name}-logits.safetensors")
    report = json.loads(diswot(args, "eval", "--weights", weights, "--data", args.data, "--limit", str(IMAGES),
                               "--logits", logits, "--json"))
    module = load_module(module_path)
    model, counters = strict_student(module, weights)
    ours = logits_of(model, normalised(module, images[:IMAGES]))
    difference = compare(ours, load_file(logits)["logits"], name)
    correct = int((ours.argmax(1) == labels[:IMAGES]).sum())
    # Eight steps leave a deep network's running statistics far from its activations', so
    # its eval-mode logits can be huge; the tolerance is relative to them (`compare`).
    label = f"{name} (logits up to {load_file(logits)['logits'].abs().max().item():.2g})"
    if reference is not None:
        upstream = reference()
        upstream.load_state_dict(load_file(weights), strict=True)
        theirs = logits_of(upstream, normalised(module, images[:IMAGES]))
        upstream_difference = compare(theirs, load_file(logits)["logits"], f"{name}: upstream module")
        upstream_correct = int((theirs.argmax(1) == labels[:IMAGES]).sum())
        label = label[:-1] + f"; upstream module: max |Δlogit| {upstream_difference:.2g}, top-1 {upstream_correct}/{IMAGES})"
    back = round_trip(args, name, module, model, safe_open(weights, "pt").metadata(), images, IMAGES)
    return [label, "diswot train, 8 steps", counters, IMAGES,
            difference, f"{report['correct']}/{IMAGES}", f"{correct}/{IMAGES}", back]


def torchvision_references():
    """torchvision's own constructors for TORCHVISION, or the names alone (checked against
    diswot's exported module only) when torchvision is not importable."""
    try:
        import torchvision
    except ImportError:
        print("check-export: torchvision is not importable; its ResNets are checked against diswot's exported modules only")
        return [(name, None) for name in TORCHVISION]
    return [(name, lambda name=name: getattr(torchvision.models, name)(num_classes=10)) for name in TORCHVISION]


def check_golden():
    """The Swift tests' golden modules against the PyTorch-written fixtures."""
    fixtures = os.path.join(ROOT, "Tests", "DiswotModelsTests", "Fixtures")
    worst = 0.0
    families = sorted(name[:-3] for name in os.listdir(os.path.join(fixtures, "export")) if name.endswith(".py"))
    for family in families:
        model = load_module(os.path.join(fixtures, "export", family + ".py")).Student()
        model.load_state_dict(load_file(os.path.join(fixtures, "pytorch", family + ".safetensors")), strict=True)
        io = load_file(os.path.join(fixtures, "pytorch", family + "-io.safetensors"))
        worst = max(worst, compare(logits_of(model, io["input"]), io["logits"], f"golden {family}"))
    return families, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diswot", required=True)
    parser.add_argument("--shared", required=True)
    args = parser.parse_args()
    args.data = "cifar10:" + os.path.join(args.shared, "datasets", "cifar10-subset")
    torch.manual_seed(0)
    print(f"check-export: diswot export against PyTorch {torch.__version__} (safetensors {safetensors.__version__})")
    with tempfile.TemporaryDirectory() as work:
        args.work = work
        with open(os.path.join(work, MOBILENET_SPACE["name"] + ".json"), "w") as f:
            json.dump(MOBILENET_SPACE, f)
        images, labels = cifar_test(args.shared)
        try:
            rows = [check_teacher(args, images, labels)]
            rows += [check_trained(args, label, space, arch, images, labels) for label, space, arch in TRAINED]
            rows += [check_zoo(args, name, images, labels) for name in ZOO]
            rows += [check_named(args, name, images, labels, reference) for name, reference in torchvision_references()]
            families, golden = check_golden()
        except CheckFailed as failure:
            print(f"check-export: FAILED: {failure}")
            return 1
    header = ["student", "weights", "num_batches_tracked", "images", "max |Δlogit|", "diswot top-1",
              "PyTorch top-1", "back: max |Δlogit|"]
    table = [header] + [[str(c) if not isinstance(c, float) else f"{c:.2g}" for c in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"every student loaded with strict=True, top-1 agreed on every image, and so did the module exported "
          f"from its key; golden modules ({', '.join(families)}) on the PyTorch-written fixtures: max |Δlogit| {golden:.2g}")
    print("check-export: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
