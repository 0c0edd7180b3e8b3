"""Treadle test suite: unit, application, contract, integration and end-to-end tests."""
