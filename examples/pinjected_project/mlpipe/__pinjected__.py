from pinjected import design

# A lambda in a design is bound as a value: `log` is this function.
__design__ = design(epochs=2, log=lambda message: print(f"[log] {message}"))
