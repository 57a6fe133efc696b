from pinjected import injected, instance


@instance
def initial_weights():
    print("initialising weights")
    return 0.0


@injected
def train_step(learning_rate, /, weight: float, batch: list) -> float:
    gradient = sum(weight - x for x in batch) / len(batch)
    return round(weight - learning_rate * gradient, 6)
