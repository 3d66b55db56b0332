"""Shared fixtures for the client tests."""

from __future__ import annotations
