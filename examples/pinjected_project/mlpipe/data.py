import asyncio

from pinjected import injected, instance


@instance
def dataset(seed):
    print(f"loading dataset (seed={seed})")
    return [((seed * i) % 11) / 10 for i in range(1, 9)]


@injected
async def a_fetch_batch(dataset, /, index: int, size: int = 4):
    await asyncio.sleep(0)
    start = (index * size) % len(dataset)
    return dataset[start : start + size]
