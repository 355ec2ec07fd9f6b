// The Hayes modem emulator (simulator issue, "Modem emulator"): command mode with echo and
// CR LF framed answers, dialing with a configurable dial time, online data bridged to the
// devices registered under the dialed number, the "+++" escape with guard times, hang-up,
// and the faults BUSY / NO CARRIER / NO DIALTONE / carrier drop.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>

#include "framing.hpp"
#include "simulator.hpp"

namespace sim {

namespace {
// Command logs are JSON text: keep them printable whatever the poller sent.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}
}  // namespace

void Simulator::open_modem(Modem& m) {
  if (m.open) return;
  spawn_pty("modem " + m.id, m.link, m.sim_link, &m.pid, &m.fd);
  m.open = true;
  m.state = Modem::State::command;
  m.echo = m.echo_default;
  m.token = loop_.add(m.fd, EPOLLIN, [this, p = &m](uint32_t) { on_modem_readable(*p); });
}

void Simulator::close_modem(Modem& m) {
  if (m.state == Modem::State::online || m.state == Modem::State::online_command)
    modem_end_call(m, "port_closed", false);
  if (m.state == Modem::State::dialing) modem_end_call(m, "port_closed", false);
  if (m.token) loop_.remove(m.token);
  m.token = 0;
  loop_.cancel(m.dial_timer);
  loop_.cancel(m.escape_timer);
  loop_.cancel(m.drop_timer);
  loop_.cancel(m.idle_timer);
  m.idle_timer = 0;
  loop_.cancel(m.stream.gap_timer);
  m.stream = RtuStream{};
  m.cmdline.clear();
  m.plus = 0;
  kill_pty(&m.pid, &m.fd, m.link, m.sim_link);
  m.open = false;
  m.state = Modem::State::command;
}

void Simulator::modem_touch(Modem& m) {
  loop_.cancel(m.idle_timer);
  m.idle_timer = 0;
  if (m.inactivity_ms <= 0) return;
  if (m.state != Modem::State::online && m.state != Modem::State::online_command) return;
  m.idle_timer = loop_.after_ms(m.inactivity_ms, [this, &m] {
    m.idle_timer = 0;
    modem_end_call(m, "inactivity", true);
  });
}

void Simulator::modem_write(Modem& m, const std::string& s) {
  if (m.fd < 0) return;
  [[maybe_unused]] auto n = write(m.fd, s.data(), s.size());
}

void Simulator::on_modem_readable(Modem& m) {
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = read(m.fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      loop_.remove(m.token);
      m.token = 0;
      return;
    }
    double now = loop_.now_ms();
    modem_touch(m);
    for (ssize_t i = 0; i < n; ++i) {
      uint8_t b = buf[i];
      if (m.state == Modem::State::online) {
        // "+++" counts as the escape only with guard-time silence before it, its three
        // characters within the guard time, and silence after it (checked by escape_timer).
        if (m.plus == 0 && b == '+' && now - m.last_rx_ms >= m.guard_ms) {
          m.plus = 1;
          m.last_plus_ms = now;
        } else if (m.plus > 0 && m.plus < 3 && b == '+' && now - m.last_plus_ms < m.guard_ms) {
          ++m.plus;
          m.last_plus_ms = now;
          if (m.plus == 3) {
            m.escape_timer = loop_.after_ms(m.guard_ms, [this, &m] {
              m.escape_timer = 0;
              m.plus = 0;
              m.state = Modem::State::online_command;
              spdlog::info("modem {}: escape to command mode", m.id);
              modem_write(m, "\r\nOK\r\n");
            });
          }
        } else {
          if (m.plus > 0) {  // not an escape after all: the '+' were data
            loop_.cancel(m.escape_timer);
            m.escape_timer = 0;
            std::string pluses(static_cast<size_t>(m.plus), '+');
            m.plus = 0;
            modem_data(m, reinterpret_cast<const uint8_t*>(pluses.data()), pluses.size());
          }
          modem_data(m, &b, 1);
        }
        m.last_rx_ms = now;
        continue;
      }
      m.last_rx_ms = now;
      if (m.state == Modem::State::dialing) {
        // Any character aborts a dial in progress, as on a real modem.
        loop_.cancel(m.dial_timer);
        m.dial_timer = 0;
        modem_end_call(m, "aborted", true);
        continue;
      }
      if (m.echo) modem_write(m, std::string(1, static_cast<char>(b)));
      if (b == '\r') {
        std::string line;
        line.swap(m.cmdline);
        modem_command(m, line);
      } else if (b != '\n' && m.cmdline.size() < 256) {
        m.cmdline.push_back(static_cast<char>(b));
      }
    }
  }
}

void Simulator::modem_data(Modem& m, const uint8_t* p, size_t n) {
  auto it = m.numbers.find(m.number);
  if (it == m.numbers.end()) return;
  rtu_feed(m.stream, p, n, 20.0, &m.crc_errors, &m.framing_errors,
           [this, &m](const std::vector<uint8_t>& f) {
             auto rit = m.numbers.find(m.number);
             if (rit == m.numbers.end() || m.state != Modem::State::online) return false;
             if (!m.calls.empty())
               m.calls.back()["requests"] = m.calls.back().value("requests", 0) + 1;
             Route* route = nullptr;
             for (auto& r : rit->second)
               if (r.unit == f[0]) route = &r;
             if (f[0] == 0) {
               for (auto& r : rit->second)
                 serve(*r.dev, m.id, false, f.data(), f.size(), true);
               return true;
             }
             if (!route) return true;
             auto out = serve(*route->dev, m.id, false, f.data(), f.size(), false);
             if (out.silent || out.bytes.empty()) return true;
             if (out.delay_ms > 0) {
               auto call = m.calls.size();
               loop_.after_ms(out.delay_ms, [this, &m, call, b = std::move(out.bytes)] {
                 if (m.state == Modem::State::online && m.calls.size() == call)
                   modem_write(m, std::string(b.begin(), b.end()));
               });
             } else {
               modem_write(m, std::string(out.bytes.begin(), out.bytes.end()));
             }
             return true;
           });
}

void Simulator::modem_end_call(Modem& m, const std::string& how, bool say_no_carrier) {
  loop_.cancel(m.idle_timer);
  m.idle_timer = 0;
  loop_.cancel(m.drop_timer);
  m.drop_timer = 0;
  loop_.cancel(m.escape_timer);
  m.escape_timer = 0;
  m.plus = 0;
  if (!m.calls.empty() && !m.calls.back().contains("end_ms")) {
    m.calls.back()["end_ms"] = loop_.now_ms();
    m.calls.back()["end"] = how;
  }
  m.state = Modem::State::command;
  m.number.clear();
  m.stream = RtuStream{};
  if (say_no_carrier) modem_write(m, "\r\nNO CARRIER\r\n");
  spdlog::info("modem {}: call ended ({})", m.id, how);
}

void Simulator::modem_command(Modem& m, const std::string& received) {
  // A modem hunts for "AT": whatever came before it (line noise, a late data frame) is ignored.
  std::string raw;
  for (size_t k = 0; k + 1 < received.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(received[k])) == 'A' &&
        std::toupper(static_cast<unsigned char>(received[k + 1])) == 'T') {
      raw = received.substr(k);
      break;
    }
  }
  if (raw.empty()) {
    if (received.find_first_not_of(" \t\n") != std::string::npos) {
      m.commands.push_back(printable(received));
      modem_write(m, "\r\nERROR\r\n");
    }
    return;
  }
  std::string line;
  for (char c : raw)
    if (c != ' ') line.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  raw = printable(raw);
  m.commands.push_back(raw);
  bool hangup_only = true;
  size_t i = 2;
  bool ok = true;
  while (i < line.size() && ok) {
    char c = line[i++];
    auto digits = [&] {
      std::string d;
      while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])))
        d += line[i++];
      return d;
    };
    if (c == 'D') {
      std::string number;
      for (size_t k = i; k < line.size(); ++k) {
        char d = line[k];
        if (std::isdigit(static_cast<unsigned char>(d)) || d == '*' || d == '#') number += d;
      }
      m.dialed.push_back(number);
      if (i == 3 && hangup_only) {
        // ATD... is a dial, not an init string.
      } else {
        m.inits.push_back(raw);
      }
      modem_dial(m, number);
      return;
    }
    if (c == 'H') {
      digits();
      if (m.state == Modem::State::online_command || m.state == Modem::State::online)
        modem_end_call(m, "hangup", false);
      continue;
    }
    hangup_only = false;
    switch (c) {
      case 'Z':
        digits();
        if (m.state == Modem::State::online_command) modem_end_call(m, "reset", false);
        m.echo = m.echo_default;
        break;
      case 'E':
        m.echo = digits() != "0";
        break;
      case 'O':
        digits();
        if (m.state != Modem::State::online_command) {
          ok = false;
          break;
        }
        m.state = Modem::State::online;
        modem_write(m, "\r\nCONNECT " + std::to_string(m.baud) + "\r\n");
        return;
      case 'S':
        digits();
        if (i < line.size() && line[i] == '?') {
          ++i;
        } else if (i < line.size() && line[i] == '=') {
          ++i;
          digits();
        } else {
          ok = false;
        }
        break;
      case '&':
      case '\\':
      case '%':
        if (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) {
          ++i;
          digits();
        } else {
          ok = false;
        }
        break;
      default:
        if (std::isalpha(static_cast<unsigned char>(c)))
          digits();
        else
          ok = false;
    }
  }
  if (!hangup_only || line == "AT") m.inits.push_back(raw);
  modem_write(m, ok ? "\r\nOK\r\n" : "\r\nERROR\r\n");
}

void Simulator::modem_dial(Modem& m, const std::string& number) {
  if (m.state != Modem::State::command) {
    modem_write(m, "\r\nERROR\r\n");
    return;
  }
  std::string result;
  if (!m.fault.empty()) {
    result = m.fault == "busy" ? "BUSY" : m.fault == "no_dialtone" ? "NO DIALTONE" : "NO CARRIER";
    if (m.fault_count > 0 && --m.fault_count == 0) m.fault.clear();
  } else if (!m.numbers.count(number)) {
    result = "NO CARRIER";  // nobody answers that number
  } else {
    result = "CONNECT";
  }
  m.calls.push_back({{"number", number}, {"dial_ms", loop_.now_ms()}, {"result", result}});
  m.state = Modem::State::dialing;
  m.number = number;
  double wait = result == "NO DIALTONE" ? std::min(m.dial_ms, 100.0) : m.dial_ms;
  m.dial_timer = loop_.after_ms(wait, [this, &m, result] {
    m.dial_timer = 0;
    if (result != "CONNECT") {
      m.calls.back()["end_ms"] = loop_.now_ms();
      m.calls.back()["end"] = "failed";
      m.state = Modem::State::command;
      m.number.clear();
      modem_write(m, "\r\n" + result + "\r\n");
      return;
    }
    m.state = Modem::State::online;
    m.last_rx_ms = loop_.now_ms();
    m.calls.back()["connect_ms"] = loop_.now_ms();
    m.calls.back()["requests"] = 0;
    modem_write(m, "\r\nCONNECT " + std::to_string(m.baud) + "\r\n");
    modem_touch(m);
    spdlog::info("modem {}: connected to {}", m.id, m.number);
    if (m.drop_next) {
      m.drop_next = false;
      m.drop_timer = loop_.after_ms(m.drop_after_ms, [this, &m] {
        m.drop_timer = 0;
        modem_end_call(m, "carrier_drop", true);
      });
    }
  });
}

}  // namespace sim
