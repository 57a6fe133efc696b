from pinjected import design

__design__ = design(seed=7, learning_rate=0.1)
