"""The local emulator: runs template.yaml's functions, API and event plumbing on one machine."""
