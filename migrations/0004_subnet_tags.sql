-- Subnet tags (net/add_ipv4 and net/show_ipv4_free `tag`, 000): which servers a pool serves.
-- ovirt = addresses of oVirt VMs, bm = addresses of bare-metal servers, ipmi = BMC addresses,
-- nat = public side of static NAT. An untagged public pool (databases made before this
-- migration) serves every kind of server.
ALTER TABLE subnets ADD COLUMN tag TEXT NOT NULL DEFAULT '';
UPDATE subnets SET tag = kind WHERE kind IN ('ipmi', 'nat');
