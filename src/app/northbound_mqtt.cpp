#include "app/northbound_mqtt.hpp"

namespace pollux::app {

mqtt::ClientOptions mqtt_client_options(const config::NorthboundSettings& s,
                                        std::string_view node_name) {
  mqtt::ClientOptions co;
  co.url = s.mqtt.url;
  co.client_id = s.resolved_client_id(node_name);
  co.username = s.mqtt.username;
  co.password = s.mqtt.password;
  if (!s.mqtt.tls.ca_file.empty() || !s.mqtt.tls.cert_file.empty())
    co.tls = mqtt::TlsOptions{s.mqtt.tls.ca_file, s.mqtt.tls.cert_file, s.mqtt.tls.key_file};
  co.keepalive_s = s.mqtt.keepalive_s;
  return co;
}

}  // namespace pollux::app
