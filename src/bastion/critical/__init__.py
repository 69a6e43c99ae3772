"""Critical projects: the designation policy and the single 2FA-mandate gate."""
