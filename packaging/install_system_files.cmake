# packaging/install_system_files.cmake: run by `cmake --install` (and by cpack, which installs
# with the prefix /usr into a staging DESTDIR), not at configure time, so that the paths follow
# the install's prefix, --prefix included:
#   - the example configuration goes to <prefix>/etc/livepush, or /etc/livepush when the prefix
#     is /usr (GNUInstallDirs' rule for etc);
#   - the systemd unit names the installed binary and configuration, so it is written here.
# Inputs (set by the install(CODE) that includes this): LP_CONF_SOURCE (the TOML file),
# LP_UNIT_TEMPLATE (livepushd.service.in), LP_UNIT_OUT (where to write the unit), LP_BINDIR and
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
configure_file("${LP_UNIT_TEMPLATE}" "${LP_UNIT_OUT}" @ONLY)
