"""What the staff web console needs beyond the chat's services: sign-in and sessions."""
