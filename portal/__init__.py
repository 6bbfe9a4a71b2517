"""The providers' web portal: organisation accounts, upload with instant validation, submission status."""
