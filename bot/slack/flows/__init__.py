"""The slow work behind each Slack interaction, run on the worker pool after the 3-second ack."""
