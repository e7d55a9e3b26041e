"""The exit statuses of every ``listbridge`` command: 0 done, 1 failed, 2 bad usage."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
