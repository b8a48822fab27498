"""Training throughput with masking vs a plain PyTorch loop, and scoring time per method.

    python benchmarks/bench_training.py [--repeats 3] [--threads 2] [--quick]

Prints img/s of ``zoo_builder.training.train`` (masks at 90% sparsity) and of a plain unmasked
SGD loop over the same batches, best of N, and their ratio (masking overhead target: ≤ 10%);
then the wall time to score ResNet-20 and VGG-16 with each method on this CPU.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from zoo_builder import datasets, models, pruning
from zoo_builder.training import Recipe, train

CPU_MODELS = [  # arch, input shape, training images per measurement
    ("lenet300", (1, 28, 28), 12_800),
    ("digits_cnn", (1, 8, 8), 12_800),
    ("mnist1d_mlp", (1, 40), 25_600),
    ("mnist1d_cnn", (1, 40), 12_800),
]


def synthetic(shape, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return datasets.Split(torch.randn(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g))


def plain_loop(model, split, recipe, seed=0):
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    model.train()
    for i in range(0, len(split), recipe.batch_size):
        idx = order[i:i + recipe.batch_size]
        loss = F.cross_entropy(model(split.x[idx]), split.y[idx])
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_masking(repeats, quick):
    recipe = Recipe("bench", epochs=1, batch_size=128, lr=0.01, momentum=0.9, weight_decay=1e-4)
    tiny_test = synthetic((1,), 1)  # replaced per model below
    print(f"{'model':<14}{'plain img/s':>14}{'masked img/s':>14}{'masked/plain':>14}")
    for arch, shape, n in CPU_MODELS:
        n = n // 4 if quick else n
        split = synthetic(shape, n)
        tiny_test = synthetic(shape, 16, seed=1)
        base = models.build(arch, seed=0)
        masks = pruning.prune(base, "magnitude", 0.9).masks
        import copy

        # interleave the two measurements so drifting machine load hits both
        t_plain, t_masked = float("inf"), float("inf")
        for _ in range(repeats):
            t_plain = min(t_plain, best_of(lambda: plain_loop(copy.deepcopy(base), split, recipe), 1))
            t_masked = min(t_masked, best_of(
                lambda: train(copy.deepcopy(base), masks, recipe, split, tiny_test, seed=0), 1))
        print(f"{arch:<14}{n / t_plain:>14,.0f}{n / t_masked:>14,.0f}{t_plain / t_masked:>14.2f}")


def bench_scoring(quick):
    archs = ["resnet20"] if quick else ["resnet20", "vgg16"]
    print(f"\n{'arch':<10}{'method':<11}{'seconds':>9}   (CIFAR-shaped scoring batch of 100, sparsity 0.9)")
    for arch in archs:
        model = models.build(arch, seed=0)
        data = (torch.randn(100, 3, 32, 32), torch.arange(10).repeat_interleave(10))
        for method in pruning.names():
            iterations = 10 if (quick and method == "synflow") else None
            start = time.perf_counter()
            pruning.prune(model, method, 0.9, data, iterations=iterations)
            label = method + (" (10 rounds)" if iterations else "")
            print(f"{arch:<10}{label:<11}{time.perf_counter() - start:>9.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smaller inputs (a minute)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, best of {args.repeats}\n")
    bench_masking(args.repeats, args.quick)
    bench_scoring(args.quick)


if __name__ == "__main__":
    main()
