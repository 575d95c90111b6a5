"""The operators' portal (/portail/): server-rendered pages in French with the State design system (DSFR).

Views stay thin: every read goes through a selector scoped to the user, every write through a service;
domain errors are shown as French messages.
"""
