-- mod_fedgate_route: send every outbound server-to-server connection of this
-- Prosody to fedgate (its internal listener), which then resolves, secures
-- and authenticates the real link to the remote domain.
--
-- Prosody 0.12.3 has no s2sout-pre-connect hook, so the module replaces the
-- SRV resolver that mod_s2s uses for new outgoing sessions: "_xmpp-server"
-- lookups answer fedgate's address, "_xmpps-server" lookups answer nothing
-- (fedgate speaks STARTTLS on its internal listener).
--
-- Install: copy to a directory listed in plugin_paths, then in the global
-- section of prosody.cfg.lua:
--   modules_enabled = { ...; "fedgate_route" }
--   fedgate_host = "10.0.0.1"   -- fedgate's internal listener
--   fedgate_port = 5271

local basic = require "net.resolvers.basic";
local service = require "net.resolvers.service";

local fedgate_host = module:get_option_string("fedgate_host", "127.0.0.1");
local fedgate_port = module:get_option_number("fedgate_port", 5271);

local original_new = service.new;

local nothing = { next = function(_, cb) cb(nil); end };

service.new = function(hostname, srv, conn_type, extra)
	if srv == "xmpp-server" then
		module:log("debug", "routing s2s for %s through fedgate at %s:%d", hostname,
			fedgate_host, fedgate_port);
		return basic.new(fedgate_host, fedgate_port, conn_type, extra);
	elseif srv == "xmpps-server" then
		return nothing;
	end
	return original_new(hostname, srv, conn_type, extra);
end

function module.unload()
	service.new = original_new;
end

module:log("info", "outbound s2s goes through fedgate at %s:%d", fedgate_host, fedgate_port);
