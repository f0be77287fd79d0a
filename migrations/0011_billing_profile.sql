-- The rest of an account's WHMCS client profile (whmcs/get_client: tax_id, language,
-- groupid, twofaenabled, defaultgateway, email_preferences, the co_* custom fields...), as
-- one JSON object: the billing module reads and updates it as a whole.
ALTER TABLE accounts ADD COLUMN billing_profile TEXT NOT NULL DEFAULT '{}';
