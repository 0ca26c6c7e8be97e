"""Every Slack identifier the app and its manifest share: one place, no magic strings."""

from __future__ import annotations

COMMAND = "/invoices"

# Buttons on a reply (message or modal). Slack wants action ids unique within a block only,
# so every MyRopo link button can share one id.
ACTION_PAGE_PREVIOUS = "invoices.page_previous"
ACTION_PAGE_NEXT = "invoices.page_next"
ACTION_TOGGLE_PAID = "invoices.toggle_paid"
ACTION_OPEN_MYROPO = "invoices.open_myropo"
ACTION_LOOKUP_ANOTHER = "invoices.lookup_another"
ACTION_REFRESH = "invoices.refresh"  # asks Ropo One again; paging is served from the cache
ACTION_SHOW_DETAILS = "invoices.show_details"  # one per invoice: opens its details modal

# Block ids of a reply.
BLOCK_SUMMARY = "invoices.summary"
BLOCK_NAVIGATION = "invoices.navigation"
BLOCK_FOOTER = "invoices.footer"

# Shortcuts and the lookup modal (declared in manifest.yml with these same ids).
SHORTCUT_FIND_IN_MESSAGE = "invoices.find_in_message"
SHORTCUT_LOOK_UP = "invoices.look_up"
VIEW_LOOKUP = "invoices.lookup_modal"
BLOCK_LOOKUP_IDENTIFIER = "invoices.lookup.identifier"
ACTION_LOOKUP_IDENTIFIER = "invoices.lookup.identifier_input"
BLOCK_LOOKUP_OPTIONS = "invoices.lookup.options"
ACTION_LOOKUP_INCLUDE_PAID = "invoices.lookup.include_paid"

# The views the lookup modal goes through after the form, and the message shortcut's chooser.
VIEW_RESULT = "invoices.result_modal"
BLOCK_LOADING = "invoices.loading"  # marks the "Looking up…" modal, which a result replaces
VIEW_CHOOSE_IDENTIFIER = "invoices.choose_modal"
BLOCK_LOOKUP_NOTICE = "invoices.lookup.notice"
ACTION_CHOOSE_IDENTIFIER = "invoices.choose_identifier"

# One invoice's details modal (opened, or pushed over the result modal).
VIEW_DETAILS = "invoices.details_modal"
BLOCK_DETAILS = "invoices.details"
BLOCK_DETAILS_ACTIONS = "invoices.details.actions"

# The App Home tab.
VIEW_HOME = "invoices.home"
BLOCK_HOME_ACTIONS = "invoices.home.actions"
ACTION_OPEN_LOOKUP_FORM = "invoices.open_lookup_form"
BLOCK_HOME_LANGUAGE = "invoices.home.language"
ACTION_CHOOSE_LANGUAGE = "invoices.choose_language"
