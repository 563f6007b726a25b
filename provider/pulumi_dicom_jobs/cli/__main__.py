from pulumi_dicom_jobs.cli.main import main

main()
