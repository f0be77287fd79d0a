-- The company that sells the servers of a location: the seller block of its invoices
-- (whmcs/download_invoice), one line per line of the address ('\n' between lines). Empty:
-- the provider's own company (HOSTKEY B.V., Amsterdam).
ALTER TABLE locations ADD COLUMN company TEXT NOT NULL DEFAULT '';
