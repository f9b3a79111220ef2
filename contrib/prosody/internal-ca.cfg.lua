-- Prosody 0.12.3 behind fedgate, internal hop mode "internal-ca".
-- fedgate authenticates to this server with certificates minted by its
-- internal CA (SASL EXTERNAL); outbound s2s goes to fedgate's internal
-- listener through mod_fedgate_route.

plugin_paths = { "/usr/local/lib/fedgate/prosody" }
fedgate_host = "10.0.0.1"   -- fedgate's internal listener
fedgate_port = 5271

modules_enabled = {
  "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping";
  "fedgate_route";
}

s2s_ports = { 5269 }           -- fedgate's backend address for this host
interfaces = { "10.0.0.2" }    -- the internal network only
s2s_require_encryption = true
s2s_secure_auth = true          -- fedgate always presents a valid certificate

-- This server's own certificate (fedgate checks it against tls.trust_file),
-- and the internal CA fedgate mints with.
ssl = {
  certificate = "/etc/prosody/certs/example.com.crt";
  key = "/etc/prosody/certs/example.com.key";
  cafile = "/etc/fedgate/internal-ca.crt";
}

-- fedgate carries every remote domain's traffic on few streams.
limits = { s2sin = { rate = "10mb/s" } }

VirtualHost "example.com"
