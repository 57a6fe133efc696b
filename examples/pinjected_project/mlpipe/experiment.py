import asyncio

from pinjected import IProxy, Injected, design, injected

from mlpipe import data, model  # noqa: F401  (imports register the injected functions)


@injected
async def a_run_experiment(a_fetch_batch, train_step, initial_weights, epochs, log, /, name: str) -> dict:
    """Trains for `epochs` epochs of two batches each and reports the weight after every epoch."""
    weight = initial_weights
    history = []
    for epoch in range(epochs):
        first, second = await asyncio.gather(a_fetch_batch(2 * epoch), a_fetch_batch(2 * epoch + 1))
        weight = train_step(weight, first)
        weight = train_step(weight, second)
        log(f"{name}: epoch {epoch} weight {weight}")
        history.append(weight)
    return {"name": name, "history": history, "final": weight}


main: IProxy[dict] = a_run_experiment("baseline")

with design(learning_rate=0.5):
    fast: IProxy[dict] = a_run_experiment("fast")

inputs = Injected.mzip(data.dataset, model.initial_weights)
