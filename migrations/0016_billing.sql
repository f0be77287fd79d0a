-- Billing (whmcs.php, issue 11): invoices as WHMCS shows them, the credit log, payments
-- and refunds, additional contacts, cancellation requests, suspensions for non-payment.
-- Amounts are integer cents of the account's currency.

-- What an invoice is for: a new order or licence ('order'), the renewal of a server's
-- period ('renewal', whmcs/generate_due_invoice and the billing cycle), adding funds to the
-- credit ('addfunds', whmcs/create_addfunds) or several invoices at once ('masspay',
-- whmcs/mass_pay). paid_cents: what payment gateways paid, net of refunds; the balance is
-- total - credit - paid.
ALTER TABLE invoices ADD COLUMN kind TEXT NOT NULL DEFAULT 'order';
ALTER TABLE invoices ADD COLUMN paid_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN cancelled_at INTEGER;           -- date_cancelled
ALTER TABLE invoices ADD COLUMN refunded_at INTEGER;            -- date_refunded
ALTER TABLE invoices ADD COLUMN server_id INTEGER NOT NULL DEFAULT 0;  -- renewal: its server
ALTER TABLE invoices ADD COLUMN period_due INTEGER NOT NULL DEFAULT 0; -- renewal: the due date it pays
-- Notices already sent about an unpaid invoice: 1 payment reminder, 2 overdue notice.
ALTER TABLE invoices ADD COLUMN notices INTEGER NOT NULL DEFAULT 0;
-- One renewal invoice per server and period (generate_due_invoice "once per period").
CREATE UNIQUE INDEX invoices_one_renewal ON invoices (server_id, period_due) WHERE kind = 'renewal';

-- whmcs/getcredits: every change of an account's credit balance, signed.
CREATE TABLE credit_log (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    description  TEXT NOT NULL,                    -- "Credit Applied to Invoice #24016"
    amount_cents INTEGER NOT NULL,
    relid        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX credit_log_account ON credit_log (account_id, id);

-- whmcs/transactions: payments through a gateway (amount_in) and their refunds (amount_out).
CREATE TABLE transactions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    invoice_id  INTEGER NOT NULL,
    gateway     TEXT NOT NULL,
    transid     TEXT NOT NULL,                     -- the gateway's reference
    description TEXT NOT NULL,
    amount_in   INTEGER NOT NULL DEFAULT 0,
    amount_out  INTEGER NOT NULL DEFAULT 0,
    refund_of   INTEGER NOT NULL DEFAULT 0,        -- refundid: the payment a refund returns
    created_at  INTEGER NOT NULL
);
CREATE INDEX transactions_account ON transactions (account_id, invoice_id);

-- whmcs/get_contacts, add_contact, update_contact, delete_contact: additional contacts.
-- The password is an argon2 PHC string (never returned in clear).
CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    firstname     TEXT NOT NULL DEFAULT '',
    lastname      TEXT NOT NULL DEFAULT '',
    companyname   TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL,
    country       TEXT NOT NULL DEFAULT 'NL',
    phonenumber   TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id);

-- whmcs/request_cancellation, get_cancellation_requests, delete_cancellation_request.
-- effective_at: when the service ends (now for immediate, the due date otherwise);
-- done_at: when it ended. invoice_id: the renewal invoice the request cancelled.
CREATE TABLE cancellation_requests (
    id           INTEGER PRIMARY KEY,
    server_id    INTEGER NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    immediate    INTEGER NOT NULL CHECK (immediate IN (0, 1)),
    reason       TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    effective_at INTEGER NOT NULL,
    done_at      INTEGER,
    invoice_id   INTEGER
);
-- One open request per server.
CREATE UNIQUE INDEX cancellation_one_open ON cancellation_requests (server_id) WHERE done_at IS NULL;

-- Why a server is suspended (get_billing_data suspend_reason): 'Overdue on Payment' when the
-- billing cycle suspended it (paying lifts it), 'Suspended by customer' for eq/suspend.
ALTER TABLE servers ADD COLUMN suspend_reason TEXT NOT NULL DEFAULT '';
-- When the service ended (get_billing_data terminationdate); the server then has no account.
ALTER TABLE servers ADD COLUMN terminated_at INTEGER;
