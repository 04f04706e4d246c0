// sluice_mock_broker: a standalone Kafka-protocol broker for integration tests.
//
// It runs librdkafka's mock cluster (rdkafka_mock.h), which speaks the Kafka
// protocol on real loopback sockets: produce, fetch, the idempotent producer,
// consumer groups and automatic topic creation work with any Kafka client
// (kcat, librdkafka). Nothing is persisted; the data lives until the process
// ends.
//
// Usage:
//   sluice_mock_broker [--brokers N] [--partitions N] [--topic NAME[:PARTITIONS]]...
//                      [--bootstrap-file PATH] [--control-socket PATH]
//
// The bootstrap address ("127.0.0.1:PORT,...") is the first line on stdout and,
// with --bootstrap-file, is written atomically to that file. The process runs
// until SIGTERM or SIGINT.
//
// Partitions: librdkafka 2.0.2 auto-creates unknown topics with 4 partitions
// and offers no setting for that. Topics that need another count are created
// explicitly: at start with --topic, or at run time through the control
// socket, one command per line:
//   create TOPIC PARTITIONS    -> "ok" or "error: ..."
// --partitions sets the count for --topic entries that do not name one.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sluice::itest {
namespace {

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

struct Options {
  int brokers = 1;
  int partitions = 1;
  std::vector<std::pair<std::string, int>> topics;  // partitions 0 = default
  std::string bootstrap_file;
  std::string control_socket;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "sluice_mock_broker: " << error << "\n"
            << "usage: sluice_mock_broker [--brokers N] [--partitions N] "
               "[--topic NAME[:PARTITIONS]]... [--bootstrap-file PATH] "
               "[--control-socket PATH]\n";
  std::exit(2);
}

int ParsePositive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || value < 1 || value > 10000) {
    Usage(flag + " needs a positive number, got '" + text + "'");
  }
  return static_cast<int>(value);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage("help");
    if (i + 1 >= argc) Usage(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--brokers") {
      options.brokers = ParsePositive(flag, value);
    } else if (flag == "--partitions") {
      options.partitions = ParsePositive(flag, value);
    } else if (flag == "--topic") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos) {
        options.topics.emplace_back(value, 0);
      } else {
        options.topics.emplace_back(value.substr(0, colon),
                                    ParsePositive(flag, value.substr(colon + 1)));
      }
    } else if (flag == "--bootstrap-file") {
      options.bootstrap_file = value;
    } else if (flag == "--control-socket") {
      options.control_socket = value;
    } else {
      Usage("unknown option " + flag);
    }
  }
  return options;
}

bool WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string CreateTopic(rd_kafka_mock_cluster_t* cluster, const std::string& name,
                        int partitions, int brokers) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      cluster, name.c_str(), partitions, brokers < 3 ? brokers : 3);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::string("error: ") + rd_kafka_err2str(err);
  }
  return "ok";
}

// Serves the control socket: one connection at a time, one command per line.
class ControlSocket {
 public:
  ControlSocket(rd_kafka_mock_cluster_t* cluster, int brokers)
      : cluster_(cluster), brokers_(brokers) {}
  ~ControlSocket() {
    if (fd_ >= 0) {
      close(fd_);
      unlink(path_.c_str());
    }
  }
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  bool Listen(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) {
      std::cerr << "sluice_mock_broker: control socket path too long: " << path << "\n";
      return false;
    }
    unlink(path.c_str());
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 16) != 0) {
      std::cerr << "sluice_mock_broker: cannot listen on " << path << ": "
                << std::strerror(errno) << "\n";
      return false;
    }
    path_ = path;
    return true;
  }

  int fd() const { return fd_; }

  void ServeOne() {
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string buffer;
    char chunk[4096];
    for (;;) {
      ssize_t n = read(conn, chunk, sizeof(chunk));
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        std::string reply = Execute(buffer.substr(0, newline)) + "\n";
        buffer.erase(0, newline + 1);
        if (write(conn, reply.data(), reply.size()) < 0) break;
      }
    }
    close(conn);
  }

 private:
  std::string Execute(const std::string& line) {
    std::istringstream in(line);
    std::string verb, topic;
    int partitions = 0;
    in >> verb;
    if (verb == "create" && (in >> topic >> partitions) && partitions > 0) {
      return CreateTopic(cluster_, topic, partitions, brokers_);
    }
    return "error: expected 'create TOPIC PARTITIONS', got '" + line + "'";
  }

  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
  int fd_ = -1;
  std::string path_;
};

int Main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The mock cluster needs a handle for its bookkeeping; it is never used to produce.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    std::cerr << "sluice_mock_broker: " << errstr << "\n";
    return 1;
  }
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle == nullptr) {
    std::cerr << "sluice_mock_broker: cannot create a client handle: " << errstr << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, options.brokers);
  if (cluster == nullptr) {
    std::cerr << "sluice_mock_broker: cannot create the mock cluster\n";
    rd_kafka_destroy(handle);
    return 1;
  }

  int status = 0;
  for (const auto& [name, count] : options.topics) {
    std::string result =
        CreateTopic(cluster, name, count > 0 ? count : options.partitions, options.brokers);
    if (result != "ok") {
      std::cerr << "sluice_mock_broker: topic " << name << ": " << result << "\n";
      status = 1;
    }
  }

  ControlSocket control(cluster, options.brokers);
  if (status == 0 && !options.control_socket.empty() && !control.Listen(options.control_socket)) {
    status = 1;
  }

  std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  if (status == 0 && !options.bootstrap_file.empty() &&
      !WriteFileAtomically(options.bootstrap_file, bootstraps)) {
    std::cerr << "sluice_mock_broker: cannot write " << options.bootstrap_file << "\n";
    status = 1;
  }

  if (status == 0) {
    std::cout << bootstraps << std::endl;
    while (!g_stop) {
      pollfd fds[1] = {{.fd = control.fd(), .events = POLLIN, .revents = 0}};
      int ready = poll(fds, control.fd() >= 0 ? 1 : 0, 200);
      if (ready > 0 && (fds[0].revents & POLLIN)) control.ServeOne();
    }
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return status;
}

}  // namespace
}  // namespace sluice::itest

int main(int argc, char** argv) { return sluice::itest::Main(argc, argv); }
