"""The test suite is a package, so each conftest is imported once (as tests.conftest, tests.<area>.conftest)."""
