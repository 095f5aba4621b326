"""PyTorch CPU's forward throughput for torchvision's ResNet-18 and ResNet-50 at 224x224,
batch 32, inference mode, on 2 threads: the figure `diswot-bench engine --model resnet18
--size 224 --batch 32` is compared with in Docs/benchmarks.md.

Timing as diswot-bench's: one warm-up pass, then the fastest of --repeats passes.
Usage: python3 Scripts/bench-torch.py [--threads 2] [--batch 32] [--size 224] [--repeats 3]
Needs torch and torchvision (a benchmark aid only, never a dependency of diswot).
"""
import argparse
import sys
import time

try:
    import torch
    import torchvision
except ImportError as error:
    sys.exit(f"bench-torch: {error}; install torch and torchvision to run this comparison")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="resnet18,resnet50")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads")
    for name in args.models.split(","):
        model = getattr(torchvision.models, name)().eval()
        x = torch.randn(args.batch, 3, args.size, args.size)
        with torch.inference_mode():
            model(x)
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(x)
                best = min(best, time.perf_counter() - start)
        print(f"{name}: batch {args.batch} at {args.size}x{args.size}: {best * 1e3:.0f} ms, {args.batch / best:.1f} images/s")


if __name__ == "__main__":
    main()
