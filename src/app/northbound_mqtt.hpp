// The MQTT client options of a node's northbound settings (spec/northbound.md "Configuration"):
// one place that turns the `northbound.mqtt` section into mqtt::ClientOptions, so the publishing
// session (NodeNorthbound) and the broker watch (BrokerWatch, redundancy.md "Partitions") reach
// the broker with the same URL, credentials, TLS and keepalive.
#pragma once

#include <string_view>

#include "config/model.hpp"
#include "mqtt/client.hpp"

namespace pollux::app {

// client_id is the resolved one (`mqtt.client_id`, or "pollux-" + node_name); a caller that
// needs a second session beside it gives it another id.
mqtt::ClientOptions mqtt_client_options(const config::NorthboundSettings& s,
                                        std::string_view node_name);

}  // namespace pollux::app
