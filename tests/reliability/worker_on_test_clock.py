"""Entry module of the tests' `dramatiq` worker processes: handlers.worker_entry on the test's clock."""
import handlers.worker_entry  # noqa: F401,E402  (installs the broker and the actors)
import tests.reliability.on_test_clock  # noqa: F401  (before the entry module asks for its runtime)
