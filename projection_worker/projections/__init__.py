"""One module per read model. Each exposes a :class:`~projection_worker.runner.Projection`."""
