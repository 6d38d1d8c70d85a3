# packaging/install_system_files.cmake: run by `cmake --install` (and by cpack, which installs
# with the prefix /usr into a staging DESTDIR), not at configure time, so that the paths follow
# the install's prefix, --prefix included:
#   - the example configuration goes to <prefix>/etc/livepush, or /etc/livepush when the prefix
#     is /usr (GNUInstallDirs' rule for etc);
#   - the systemd unit names the installed binary and configuration, so it is written and
#     installed (lib/systemd/system/livepushd.service) here.
# Inputs (set by the install(CODE) that includes this): LP_CONF_SOURCE (the TOML file),
# LP_UNIT_TEMPLATE (livepushd.service.in), LP_UNIT_DIR (a build directory for the generated
# units), LP_BINDIR and
# LP_DOCDIR (GNUInstallDirs' relative bin and doc directories).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(lp_etc /etc)
else()
  set(lp_etc ${CMAKE_INSTALL_PREFIX}/etc)
endif()
# file(INSTALL) puts $DESTDIR in front of an absolute destination itself (cpack's staging).
file(INSTALL DESTINATION "${lp_etc}/livepush" TYPE FILE FILES "${LP_CONF_SOURCE}")

set(LP_BIN_DIR ${CMAKE_INSTALL_PREFIX}/${LP_BINDIR})
set(LP_CONF_FILE ${lp_etc}/livepush/livepushd.toml)
set(LP_DEFAULT_FILE ${lp_etc}/default/livepush)
set(LP_DOC_DIR ${CMAKE_INSTALL_PREFIX}/${LP_DOCDIR})
# One generated unit per install destination: two installs from one build tree at once (a test
# and a doc example) must not install each other's paths.
string(MD5 lp_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
configure_file("${LP_UNIT_TEMPLATE}" "${LP_UNIT_DIR}/livepushd.service.${lp_key}" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${LP_UNIT_DIR}/livepushd.service.${lp_key}" RENAME livepushd.service)
file(REMOVE "${LP_UNIT_DIR}/livepushd.service.${lp_key}")
