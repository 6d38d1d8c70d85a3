// tests/fuzz/replay_main: main() for replaying a fuzz target's corpus in the ordinary build, so
// that every input committed to tests/fuzz/corpus/<target>/ (seeds and past crashes) runs as a
// CTest case with whatever sanitizers the build has, not only when someone runs libFuzzer.
//
// Usage: <target>_replay PATH...  (a PATH is a file or a directory of files, read in name order).
// Each input is handed to LLVMFuzzerTestOneInput in a heap block of exactly its size, as
// libFuzzer does. A target's oracle reports a bug by aborting; this driver only fails when it was
// given nothing to replay. It never generates or mutates inputs (that is libFuzzer's job).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

std::vector<std::filesystem::path> inputs_under(const std::filesystem::path& p) {
    std::vector<std::filesystem::path> out;
    if (std::filesystem::is_directory(p)) {
        for (const auto& e : std::filesystem::directory_iterator(p)) {
            if (e.is_regular_file()) out.push_back(e.path());
        }
        std::sort(out.begin(), out.end());
    } else if (std::filesystem::is_regular_file(p)) {
        out.push_back(p);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        const auto inputs = inputs_under(argv[i]);
        if (inputs.empty()) {
            std::fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[i]);
            return 1;
        }
        for (const auto& path : inputs) {
            std::ifstream f(path, std::ios::binary);
            std::string bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
            std::unique_ptr<std::uint8_t[]> block(
                new std::uint8_t[bytes.size() ? bytes.size() : 1]);
            std::copy(bytes.begin(), bytes.end(), block.get());
            std::fprintf(stderr, "replay %s (%zu bytes)\n", path.c_str(), bytes.size());
            LLVMFuzzerTestOneInput(block.get(), bytes.size());
            ++replayed;
        }
    }
    std::fprintf(stderr, "%s: %zu inputs replayed, no failure\n", argv[0], replayed);
    return 0;
}
