# Optional oneDNN lookup shared by our CMakeLists.txt and the installed recdiffConfig.cmake.
#
# recdiff_find_dnnl(<out-var>) sets <out-var> to ON when DNNL::dnnl can be used and OFF otherwise, and sets
# RECDIFF_DNNL_REASON to one line saying why it is off. It never fails a configure: oneDNN is optional.
#
# Why not a plain find_package(dnnl CONFIG QUIET): Debian's libdnnl-dev is built with the OpenCL GPU runtime,
# and its dnnl-config.cmake calls find_package(OpenCL REQUIRED) itself. On a machine with libdnnl-dev but
# without the OpenCL development files (ocl-icd-opencl-dev, which apt only recommends) that REQUIRED lookup
# aborts the whole configure, QUIET or not (issue 18). So we locate dnnl's config file first, read which GPU
# runtime it was built with, look for OpenCL quietly when it needs it, and only then load the config.
function(recdiff_find_dnnl out_var)
  set(${out_var} OFF PARENT_SCOPE)
  set(RECDIFF_DNNL_REASON "" PARENT_SCOPE)

  set(_dirs "")
  foreach(_d IN ITEMS "${dnnl_DIR}" "$ENV{dnnl_DIR}")
    if(_d)
      list(APPEND _dirs "${_d}")
    endif()
  endforeach()
  foreach(_prefix IN LISTS CMAKE_PREFIX_PATH CMAKE_SYSTEM_PREFIX_PATH)
    foreach(_sub IN ITEMS "lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/dnnl" "lib/cmake/dnnl" "lib64/cmake/dnnl"
                          "share/dnnl/cmake" "share/cmake/dnnl")
      list(APPEND _dirs "${_prefix}/${_sub}")
    endforeach()
  endforeach()
  set(_config "")
  foreach(_d IN LISTS _dirs)
    foreach(_name IN ITEMS dnnl-config.cmake dnnlConfig.cmake)
      if(NOT _config AND EXISTS "${_d}/${_name}")
        set(_config "${_d}/${_name}")
      endif()
    endforeach()
  endforeach()
  if(NOT _config)
    set(RECDIFF_DNNL_REASON "oneDNN not found (Debian: libdnnl-dev)" PARENT_SCOPE)
    return()
  endif()
  get_filename_component(_config_dir "${_config}" DIRECTORY)

  file(STRINGS "${_config}" _ocl REGEX "set\\(DNNL_GPU_RUNTIME \"OCL\"\\)")
  if(_ocl)
    find_package(OpenCL QUIET)
    if(NOT OpenCL_FOUND)
      set(RECDIFF_DNNL_REASON
          "oneDNN at ${_config_dir} needs the OpenCL development files, which are missing (Debian: ocl-icd-opencl-dev)"
          PARENT_SCOPE)
      return()
    endif()
  endif()

  find_package(dnnl CONFIG QUIET PATHS "${_config_dir}" NO_DEFAULT_PATH)
  if(NOT dnnl_FOUND OR NOT TARGET DNNL::dnnl)
    set(RECDIFF_DNNL_REASON "oneDNN's config at ${_config_dir} did not load" PARENT_SCOPE)
    return()
  endif()
  set(${out_var} ON PARENT_SCOPE)
endfunction()
