#include "core/java_hash.h"

#include <optional>
#include <string>

namespace sluice::core {

namespace {

// The UTF-16 code units of UTF-8 `text`, as Java's String holds them (a malformed byte: U+FFFD).
template <typename Unit>
void ForEachUtf16Unit(std::string_view text, Unit unit) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0xFFFD;
    size_t n = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6 && i + 1 < text.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      n = 2;
    } else if ((c >> 4) == 0xE && i + 2 < text.size()) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
      n = 3;
    } else if ((c >> 3) == 0x1E && i + 3 < text.size()) {
      cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 12) |
           ((static_cast<unsigned char>(text[i + 2]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(text[i + 3]) & 0x3Fu);
      n = 4;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += n;
  }
}

std::u16string Utf16(std::string_view text) {
  std::u16string out;
  ForEachUtf16Unit(text, [&](uint32_t u) { out += static_cast<char16_t>(u); });
  return out;
}

// java.util.HashMap (Java 8 to 21) replayed: its table of bins, each a list in `next` order; a
// bin of 9 or more in a table of 64 or more becomes a red-black tree ordered by hash, then by
// String.compareTo, whose root moves to the front of the bin's list. Iteration walks the table
// and each bin's list.
class HashMapReplay {
 public:
  explicit HashMapReplay(const std::vector<std::string_view>& keys) : keys_(keys), u16_(keys.size()) {}

  void Put(size_t key) {
    int32_t h = Spread(JavaStringHash(keys_[key]));
    size_t idx = Index(h);
    int p = table_[idx];
    if (p < 0) {
      table_[idx] = NewNode(key, h, -1);
    } else if (Same(p, key, h)) {
      return;
    } else if (nodes_[p].tree) {
      if (!PutTreeVal(idx, key, h)) return;
    } else {
      for (int bin_count = 0;; ++bin_count) {
        int e = nodes_[p].next;
        if (e < 0) {
          nodes_[p].next = NewNode(key, h, -1);
          if (bin_count >= 7) TreeifyBin(idx);
          break;
        }
        if (Same(e, key, h)) return;
        p = e;
      }
    }
    if (++size_ > table_.size() / 4 * 3) Resize();
  }

  std::vector<size_t> Order() const {
    std::vector<size_t> out;
    for (int head : table_) {
      for (int e = head; e >= 0; e = nodes_[e].next) out.push_back(nodes_[e].key);
    }
    return out;
  }

 private:
  struct Node {
    size_t key;
    int32_t hash;
    int next = -1, prev = -1, parent = -1, left = -1, right = -1;
    bool red = false, tree = false;
  };

  static int32_t Spread(int32_t h) {
    auto u = static_cast<uint32_t>(h);
    return static_cast<int32_t>(u ^ (u >> 16));
  }
  size_t Index(int32_t h) const { return static_cast<uint32_t>(h) & (table_.size() - 1); }
  bool Same(int n, size_t key, int32_t h) const {
    return nodes_[n].hash == h && keys_[nodes_[n].key] == keys_[key];
  }
  int NewNode(size_t key, int32_t h, int next) {
    nodes_.push_back({key, h, next});
    return static_cast<int>(nodes_.size() - 1);
  }
  // The tree's direction of `key` from node `p`: by hash (signed), then String.compareTo.
  int Dir(int p, size_t key, int32_t h) {
    if (nodes_[p].hash > h) return -1;
    if (nodes_[p].hash < h) return 1;
    const std::u16string& a = U16(key);
    const std::u16string& b = U16(nodes_[p].key);
    return a.compare(b) < 0 ? -1 : 1;  // distinct keys: never equal
  }
  // A key's UTF-16 units, decoded once and only for keys whose hashes collide.
  const std::u16string& U16(size_t key) {
    if (!u16_[key]) u16_[key] = Utf16(keys_[key]);
    return *u16_[key];
  }

  void TreeifyBin(size_t idx) {
    if (table_.size() < 64) {
      Resize();
      return;
    }
    int prev = -1;
    for (int e = table_[idx]; e >= 0; e = nodes_[e].next) {
      nodes_[e].tree = true;
      nodes_[e].prev = prev;
      prev = e;
    }
    Treeify(table_[idx]);
  }

  void Treeify(int head) {
    int root = -1;
    for (int x = head, next; x >= 0; x = next) {
      next = nodes_[x].next;
      nodes_[x].left = nodes_[x].right = -1;
      if (root < 0) {
        nodes_[x].parent = -1;
        nodes_[x].red = false;
        root = x;
        continue;
      }
      for (int p = root;;) {
        int dir = Dir(p, nodes_[x].key, nodes_[x].hash);
        int xp = p;
        p = dir <= 0 ? nodes_[p].left : nodes_[p].right;
        if (p < 0) {
          nodes_[x].parent = xp;
          (dir <= 0 ? nodes_[xp].left : nodes_[xp].right) = x;
          root = BalanceInsertion(root, x);
          break;
        }
      }
    }
    MoveRootToFront(root);
  }

  // False when the key was there already.
  bool PutTreeVal(size_t idx, size_t key, int32_t h) {
    int root = table_[idx];
    while (nodes_[root].parent >= 0) root = nodes_[root].parent;
    for (int p = root;;) {
      if (Same(p, key, h)) return false;
      int dir = Dir(p, key, h);
      int xp = p;
      p = dir <= 0 ? nodes_[p].left : nodes_[p].right;
      if (p < 0) {
        int xpn = nodes_[xp].next;
        int x = NewNode(key, h, xpn);
        nodes_[x].tree = true;
        (dir <= 0 ? nodes_[xp].left : nodes_[xp].right) = x;
        nodes_[xp].next = x;
        nodes_[x].parent = nodes_[x].prev = xp;
        if (xpn >= 0) nodes_[xpn].prev = x;
        MoveRootToFront(BalanceInsertion(root, x));
        return true;
      }
    }
  }

  void MoveRootToFront(int root) {
    size_t idx = Index(nodes_[root].hash);
    int first = table_[idx];
    if (root == first) return;
    table_[idx] = root;
    int rp = nodes_[root].prev, rn = nodes_[root].next;
    if (rn >= 0) nodes_[rn].prev = rp;
    if (rp >= 0) nodes_[rp].next = rn;
    if (first >= 0) nodes_[first].prev = root;
    nodes_[root].next = first;
    nodes_[root].prev = -1;
  }

  int& Child(int n, bool right) { return right ? nodes_[n].right : nodes_[n].left; }

  // rotateLeft (`left`) or rotateRight of HashMap.TreeNode: p's right (left) child takes its
  // place. Returns the root.
  int Rotate(int root, int p, bool left) {
    int up = Child(p, left);
    if (up < 0) return root;
    int inner = Child(p, left) = Child(up, !left);
    if (inner >= 0) nodes_[inner].parent = p;
    int pp = nodes_[up].parent = nodes_[p].parent;
    if (pp < 0) {
      root = up;
      nodes_[up].red = false;
    } else {
      Child(pp, nodes_[pp].left != p) = up;
    }
    Child(up, !left) = p;
    nodes_[p].parent = up;
    return root;
  }

  int BalanceInsertion(int root, int x) {
    nodes_[x].red = true;
    for (;;) {
      int xp = nodes_[x].parent;
      if (xp < 0) {
        nodes_[x].red = false;
        return x;
      }
      int xpp = nodes_[xp].parent;
      if (!nodes_[xp].red || xpp < 0) return root;
      // The mirror cases of balanceInsertion: the parent is its parent's left (right) child.
      const bool left = xp == nodes_[xpp].left;
      int uncle = Child(xpp, left);
      if (uncle >= 0 && nodes_[uncle].red) {
        nodes_[uncle].red = nodes_[xp].red = false;
        nodes_[xpp].red = true;
        x = xpp;
        continue;
      }
      if (x == Child(xp, left)) {
        x = xp;
        root = Rotate(root, x, left);
        xp = nodes_[x].parent;
        xpp = xp < 0 ? -1 : nodes_[xp].parent;
      }
      if (xp >= 0) {
        nodes_[xp].red = false;
        if (xpp >= 0) {
          nodes_[xpp].red = true;
          root = Rotate(root, xpp, !left);
        }
      }
    }
  }

  // Doubles the table: each bin splits into the same index and index + old capacity, in order;
  // a tree half of 6 or fewer becomes a list, a tree split in two is rebuilt on each side.
  void Resize() {
    std::vector<int> old = std::move(table_);
    const size_t bit = old.size();
    table_.assign(bit * 2, -1);
    for (size_t j = 0; j < bit; ++j) {
      int heads[2] = {-1, -1}, tails[2] = {-1, -1}, counts[2] = {0, 0};
      bool tree = old[j] >= 0 && nodes_[old[j]].tree;
      for (int e = old[j], next; e >= 0; e = next) {
        next = nodes_[e].next;
        nodes_[e].next = -1;
        int side = (static_cast<uint32_t>(nodes_[e].hash) & bit) ? 1 : 0;
        nodes_[e].prev = tails[side];
        (tails[side] < 0 ? heads[side] : nodes_[tails[side]].next) = e;
        tails[side] = e;
        ++counts[side];
      }
      for (int side = 0; side < 2; ++side) {
        if (heads[side] < 0) continue;
        table_[j + side * bit] = heads[side];
        if (!tree) continue;
        if (counts[side] <= 6) {
          for (int e = heads[side]; e >= 0; e = nodes_[e].next) nodes_[e].tree = false;
        } else if (heads[1 - side] >= 0) {
          Treeify(heads[side]);
        }
      }
    }
  }

  const std::vector<std::string_view>& keys_;
  std::vector<Node> nodes_;
  std::vector<int> table_ = std::vector<int>(16, -1);
  size_t size_ = 0;
  std::vector<std::optional<std::u16string>> u16_;
};

}  // namespace

int32_t JavaStringHash(std::string_view text) {
  uint32_t h = 0;
  ForEachUtf16Unit(text, [&](uint32_t u) { h = h * 31 + u; });
  return static_cast<int32_t>(h);
}

std::vector<size_t> JavaHashMapOrder(const std::vector<std::string_view>& keys) {
  HashMapReplay map(keys);
  for (size_t i = 0; i < keys.size(); ++i) map.Put(i);
  return map.Order();
}

}  // namespace sluice::core
