"""The training pipeline, written as effects: it loads data, extracts features, trains, checkpoints,
evaluates and logs metrics, and touches the world only through the effects it yields."""

from dataclasses import dataclass

import numpy as np

from doeff_migrate.runtime import Ask, EffectBase, do
from doeff_migrate.runtime.metrics import LogConfig, LogMetrics


@dataclass(frozen=True)
class LoadDataset(EffectBase):
    """Download a dataset: the slow, metered part (answer: ``(points, labels)``)."""

    name: str
    size: int


@dataclass(frozen=True)
class ExtractFeatures(EffectBase):
    """Embed points with the feature model: the "GPU" part (answer: a feature matrix)."""

    points: object


@dataclass(frozen=True)
class SaveCheckpoint(EffectBase):
    """Write model weights to ``path``."""

    path: str
    weights: object


def split(features, labels, test_fraction=0.25):
    cut = int(len(labels) * (1 - test_fraction))
    return features[:cut], features[cut:], labels[:cut], labels[cut:]


def predict(weights, features):
    return 1.0 / (1.0 + np.exp(-(features @ weights)))


def gradient_step(weights, features, labels, learning_rate):
    """One full-batch gradient step of logistic regression; returns (weights, loss)."""
    p = predict(weights, features)
    eps = 1e-9
    loss = float(-np.mean(labels * np.log(p + eps) + (1 - labels) * np.log(1 - p + eps)))
    grad = features.T @ (p - labels) / len(labels)
    return weights - learning_rate * grad, loss


def accuracy(weights, features, labels):
    return float(np.mean((predict(weights, features) > 0.5) == (labels > 0.5)))


def f1_score(weights, features, labels):
    predicted = predict(weights, features) > 0.5
    actual = labels > 0.5
    tp = float(np.sum(predicted & actual))
    fp = float(np.sum(predicted & ~actual))
    fn = float(np.sum(~predicted & actual))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@do
def prepare():
    """Load and embed the data (both expensive), then split it."""
    points, labels = yield LoadDataset("two-moons", 800)
    features = yield ExtractFeatures(points)
    return split(features, labels)


@do
def train(train_x, train_y):
    learning_rate = yield Ask("learning_rate")
    epochs = yield Ask("epochs")
    weights = np.zeros(train_x.shape[1])
    loss = float("nan")
    for epoch in range(epochs):
        weights, loss = gradient_step(weights, train_x, train_y, learning_rate)
        if epoch % 10 == 9:
            yield LogMetrics({"train_loss": loss}, step=epoch)
    return weights, loss


@do
def experiment():
    """Prepare, train, checkpoint, evaluate; returns the summary and what evaluation needs."""
    learning_rate = yield Ask("learning_rate")
    epochs = yield Ask("epochs")
    checkpoint_dir = yield Ask("checkpoint_dir")
    yield LogConfig({"learning_rate": learning_rate, "epochs": epochs})
    train_x, test_x, train_y, test_y = yield prepare()
    weights, loss = yield train(train_x, train_y)
    yield SaveCheckpoint(f"{checkpoint_dir}/model_lr{learning_rate}.npy", weights)
    test_accuracy = accuracy(weights, test_x, test_y)
    yield LogMetrics({"test_accuracy": test_accuracy}, step=epochs)
    summary = {"learning_rate": learning_rate, "final_loss": round(loss, 6), "test_accuracy": test_accuracy}
    return summary, weights, test_x, test_y


@do
def train_experiment():
    """The recorded experiment."""
    summary, _weights, _x, _y = yield experiment()
    return summary


@do
def evaluate_with_new_metric():
    """Re-analysis after the fact: the same run, plus a metric nobody logged when it was recorded."""
    summary, weights, test_x, test_y = yield experiment()
    epochs = yield Ask("epochs")
    f1 = f1_score(weights, test_x, test_y)
    yield LogMetrics({"test_f1": f1}, step=epochs)
    return {**summary, "test_f1": f1}
