-- Prosody 0.12.3 behind fedgate, internal hop mode "dialback".
-- fedgate sends db:result for each remote domain it authenticated; Prosody
-- verifies it by connecting back "to the remote domain", which
-- mod_fedgate_route sends to fedgate's internal listener, where fedgate
-- answers as the authoritative server.

plugin_paths = { "/usr/local/lib/fedgate/prosody" }
fedgate_host = "10.0.0.1"
fedgate_port = 5271

modules_enabled = {
  "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping";
  "fedgate_route";
}

s2s_ports = { 5269 }
interfaces = { "10.0.0.2" }
s2s_require_encryption = true
s2s_secure_auth = false          -- dialback, not certificates, proves fedgate

ssl = {
  certificate = "/etc/prosody/certs/example.com.crt";
  key = "/etc/prosody/certs/example.com.key";
}

limits = { s2sin = { rate = "10mb/s" } }

VirtualHost "example.com"
