"""Accounts: users, passwords, sessions, API tokens and second factors."""
