"""Deployment steps that act on live infrastructure (database bootstrap, ...)."""
